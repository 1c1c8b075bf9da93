"""Build contexts sent to a node incrementally: a manifest of the tree, then only the blobs it lacks.

The client describes its context (after ``.dockerignore``) as a manifest, one entry per path:
``["f", mode, size, mtime_ns, sha256]`` for a file, ``["l", mode, target]`` for a symlink,
``["d", mode]`` for a directory. File digests come from the same stat cache the local build
uses, so an unchanged file is stat'ed, never re-read. The node keeps a content-addressed blob
cache and answers with the digests it lacks; it then brings a persistent tree (one per client
context) up to date: only paths whose entry changed are rewritten, vanished ones removed. A
rebuild after one changed file sends one blob; an unchanged context sends only the manifest.

Owners are not sent: the node's files belong to the node's user (COPY defaults to 0:0 anyway).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dockyard.errors import NodeError, UsageError
from dockyard.graph.contenthash import StatCache
from dockyard.selector import PatternMatcher, SourceTree

Entry = list[Any]
Manifest = dict[str, Entry]


def describe(context: Path, *, patterns: list[str], stat_cache: StatCache) -> Manifest:
    """The manifest of ``context`` as a build sees it with the ``.dockerignore`` ``patterns``
    (:class:`dockyard.selector.SourceTree`: the same tree local COPY and cache keys read)."""
    try:
        tree = SourceTree(context, ignore=PatternMatcher(patterns))
    except OSError as exc:
        raise UsageError(f"build context: cannot read {context}: {exc.strerror}") from None
    out: Manifest = {}
    stack = [tree.node(".")]
    while stack:
        directory = stack.pop()
        assert directory is not None
        try:
            children = tree.children(directory)
        except OSError as exc:
            raise UsageError(f"build context: cannot read {directory.rel}: {exc.strerror}") from None
        for node in children:
            st = node.st
            mode = stat.S_IMODE(st.st_mode)
            if node.is_dir:
                out[node.rel] = ["d", mode]
                stack.append(node)
            elif node.is_link:
                out[node.rel] = ["l", mode, os.readlink(node.host).decode("utf-8", "surrogateescape")]
            elif stat.S_ISREG(st.st_mode):
                out[node.rel] = ["f", mode, st.st_size, st.st_mtime_ns, stat_cache.digest(node.rel, node.host, st)]
            # sockets, fifos and devices are not sent
    return out


def blobs_of(manifest: Manifest) -> dict[str, int]:
    """``{sha256 hex: size}`` of the manifest's files."""
    return {e[4]: int(e[2]) for e in manifest.values() if e[0] == "f"}


class ContextCache:
    """The node's side: blobs by digest (``blobs/``) and one tree per client context (``trees/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.trees = root / "trees"

    def missing(self, manifest: Manifest) -> list[str]:
        return sorted(d for d in blobs_of(manifest) if not (self.blobs / d).is_file())

    def ingest(self, digest: str, chunks: Iterator[bytes]) -> None:
        """Write one blob (its digest checked by the channel while reading) atomically."""
        self.blobs.mkdir(parents=True, exist_ok=True)
        tmp = self.blobs / f".{digest}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.replace(tmp, self.blobs / digest)

    @contextlib.contextmanager
    def tree(self, name: str, manifest: Manifest) -> Iterator[Path]:
        """The tree ``name`` made equal to ``manifest``, locked while the caller builds from it."""
        if not name.isalnum():
            raise NodeError(f"invalid context name {name!r}")
        self.trees.mkdir(parents=True, exist_ok=True)
        top = self.trees / name
        state_file = self.trees / f"{name}.json"
        fd = os.open(self.trees / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                before: Manifest = json.loads(state_file.read_text()) if top.is_dir() else {}
            except (OSError, ValueError):
                before = {}
            if not before and top.exists():
                shutil.rmtree(top)
            self._update(top, before, manifest)
            tmp = state_file.with_name(f".{state_file.name}.tmp")
            tmp.write_text(json.dumps(manifest))
            os.replace(tmp, state_file)
            yield top
        finally:
            os.close(fd)

    def _update(self, top: Path, before: Manifest, after: Manifest) -> None:
        top.mkdir(exist_ok=True)
        # remove what vanished or changed kind, deepest first
        for rel in sorted(before, key=lambda p: p.count("/"), reverse=True):
            old, new = before[rel], after.get(rel)
            if new is not None and new[0] == old[0]:
                continue
            path = top / rel
            if old[0] == "d" and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        dirs: list[tuple[Path, int]] = []
        for rel in sorted(after, key=lambda p: p.count("/")):
            entry, path = after[rel], top / rel
            if before.get(rel) == entry and (path.is_symlink() or path.exists()):
                continue
            kind = entry[0]
            if kind == "d":
                path.mkdir(exist_ok=True)
                dirs.append((path, int(entry[1])))
            elif kind == "l":
                path.unlink(missing_ok=True)
                os.symlink(entry[2], path)
            else:
                blob = self.blobs / entry[4]
                if not blob.is_file():
                    raise NodeError(f"context file {rel} (sha256:{entry[4]}) was never sent")
                tmp = path.with_name(f".{path.name}.dy-tmp")
                shutil.copyfile(blob, tmp)
                os.chmod(tmp, int(entry[1]))
                os.utime(tmp, ns=(int(entry[3]), int(entry[3])))
                os.replace(tmp, path)
        for path, mode in reversed(dirs):
            os.chmod(path, mode | 0o700 if os.geteuid() != 0 else mode)

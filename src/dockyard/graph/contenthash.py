"""Checksums of the build-context files an op reads, and only those.

A COPY's cache key must change when a file it copies changes, and must not change when an
unrelated file changes. So the checksum covers exactly the paths its sources select (after
wildcards, ``.dockerignore`` and ``--exclude``): relative path, type, permission bits and
content digest (or link target). Timestamps are left out, as BuildKit does.

Hashing is the expensive part (50,000 small files take ~0.9 s to read), so file digests are
kept in a :class:`StatCache` keyed by ``(path, size, mtime_ns, inode)``: an unchanged file is
stat'ed, never re-read. The cache can be saved between builds (atomic write).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from dockyard.dockerfile.dockerignore import PatternMatcher, clean

_WILDCARDS = frozenset("*?[")
_CHUNK = 1 << 20


class SourceNotFoundError(FileNotFoundError):
    """A COPY/ADD source selects nothing in the build context."""


class StatCache:
    """File digests by ``(path, size, mtime_ns, inode)``; counts reads for tests and stats."""

    def __init__(self) -> None:
        self._digests: dict[tuple[str, int, int, int], str] = {}
        self._used: set[tuple[str, int, int, int]] = set()
        self.reads = 0

    def digest(self, path: str, st: os.stat_result) -> str:
        key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
        self._used.add(key)
        found = self._digests.get(key)
        if found is not None:
            return found
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        self.reads += 1
        digest = h.hexdigest()
        self._digests[key] = digest
        return digest

    def save(self, path: Path) -> None:
        """Write the entries this process used, atomically (a temp file of its own, then rename):
        files that changed or went away drop out, so the file stays the size of the context."""
        rows = [[*k, v] for k, v in self._digests.items() if k in self._used]
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        # 0600: host paths and the digests of their contents are nobody else's business
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            out.write(json.dumps(rows))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> StatCache:
        cache = cls()
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache
        for row in rows:
            cache._digests[(str(row[0]), int(row[1]), int(row[2]), int(row[3]))] = str(row[4])
        return cache


@dataclass(frozen=True)
class _Entry:
    rel: str
    record: str


class ContextHasher:
    """Checksums selections of one context directory (the ``ContentHasher`` of cache keys)."""

    def __init__(self, root: Path, *, cache: StatCache | None = None) -> None:
        self.root = root
        self.cache = cache if cache is not None else StatCache()

    def checksum(
        self,
        sources: Sequence[str],
        *,
        excludes: Sequence[str] = (),
        copy_excludes: Sequence[str] = (),
        follow_symlinks: bool = True,
    ) -> str:
        """``sha256:`` digest of what ``sources`` select; raises :class:`SourceNotFoundError`."""
        ignore = PatternMatcher(excludes)
        exclude = PatternMatcher(copy_excludes)
        h = hashlib.sha256()
        for source in sources:
            rel = clean("/" + source).lstrip("/") or "."
            h.update(b"source\0" + rel.encode("utf-8", "surrogateescape") + b"\0")
            selected = self._select(rel, ignore)
            if not selected:
                raise SourceNotFoundError(source)
            for top in selected:
                for entry in self._walk(top, ignore, exclude, follow_symlinks=follow_symlinks):
                    h.update(entry.record.encode("utf-8", "surrogateescape") + b"\n")
        return "sha256:" + h.hexdigest()

    def _select(self, rel: str, ignore: PatternMatcher) -> list[str]:
        """Paths ``rel`` selects; sources are rooted at the context ("../x" and "/x" mean "x", as in BuildKit)."""
        if not any(c in _WILDCARDS for c in rel):
            full = self.root / rel
            if not os.path.lexists(full):
                return []
            if rel != "." and ignore.matches(rel) and not (ignore.has_exclusions and full.is_dir()):
                return []
            return [rel]
        return sorted(self._glob(rel.split("/"), ".", ignore))

    def _glob(self, parts: list[str], base: str, ignore: PatternMatcher) -> Iterator[str]:
        head, rest = parts[0], parts[1:]
        directory = self.root / base
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return
        for name in names:
            wild = any(c in _WILDCARDS for c in head)
            if not (fnmatchcase(name, head) if wild else name == head):
                continue
            rel = name if base == "." else f"{base}/{name}"
            if ignore.matches(rel) and not ignore.has_exclusions:
                continue
            if rest:
                if (self.root / rel).is_dir():
                    yield from self._glob(rest, rel, ignore)
            else:
                yield rel

    def _walk(
        self, top: str, ignore: PatternMatcher, exclude: PatternMatcher, *, follow_symlinks: bool
    ) -> Iterator[_Entry]:
        full = os.path.join(self.root, top)
        st = os.stat(full) if follow_symlinks else os.lstat(full)
        yield from self._entries(top, full, st, top, ignore=ignore, exclude=exclude)

    def _entries(
        self,
        rel: str,
        full: str,
        st: os.stat_result,
        top: str,
        *,
        ignore: PatternMatcher,
        exclude: PatternMatcher,
    ) -> Iterator[_Entry]:
        inner = posixpath.relpath(rel, top) if rel != top else "."
        if inner != "." and exclude.matches(inner):
            return
        skip_self = rel != "." and ignore.matches(rel)
        perms = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            if not skip_self:
                yield _Entry(rel, f"{inner}\0dir\0{perms:o}")
            if skip_self and not ignore.has_exclusions:
                return
            with os.scandir(full) as it:
                children = sorted(it, key=lambda e: e.name)
            for child in children:
                child_rel = child.name if rel == "." else f"{rel}/{child.name}"
                yield from self._entries(
                    child_rel,
                    child.path,
                    child.stat(follow_symlinks=False),
                    top,
                    ignore=ignore,
                    exclude=exclude,
                )
            return
        if skip_self:
            return
        if stat.S_ISLNK(st.st_mode):
            yield _Entry(rel, f"{inner}\0link\0{os.readlink(full)}")
        elif stat.S_ISREG(st.st_mode):
            yield _Entry(rel, f"{inner}\0file\0{perms:o}\0{self.cache.digest(full, st)}")
        else:
            yield _Entry(rel, f"{inner}\0other\0{stat.S_IFMT(st.st_mode):o}")

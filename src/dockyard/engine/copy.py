"""COPY and ADD onto a mounted root filesystem: the rules for sources and destinations.

The op worker mounts the destination (an overlay whose upper directory becomes the layer)
and the source (the build context, or a stage's or image's root, read-only) and calls
:func:`copy_into`. What happens follows BuildKit's Dockerfile frontend and file-op backend:

- which entries are read (sources, wildcards, symlinks followed inside the root,
  .dockerignore, ``--exclude``, ``--parents``) is :func:`dockyard.selector.select`'s answer,
  the same one the cache key hashes; a source that is missing is an error naming it, a
  wildcard matching nothing copies nothing and creates nothing (dockerfile2llb sets
  ``AllowEmptyWildcard``; buildkit ``file/backend.go`` ``docopy`` then returns early, and the
  checksum of no paths is the digest of nothing);
- a directory source copies its *contents*; a file goes to ``dest/<name>`` when ``dest`` ends
  in ``/`` or is an existing directory, else it becomes ``dest``; a relative ``dest`` is
  relative to ``workdir``; ``dest`` is resolved inside the destination root, following its
  symlinks there (the last component too, as continuity's ``fs.RootPath``: a file copied onto
  a link to a file replaces the link's target), and missing parents are created (mode 0755, or the octal ``--chmod`` as
  BuildKit does since 2025 — buildah keeps 0755; owner the ``--chown`` or root);
- more than one source needs a directory destination: ``dest`` ending in ``/`` or an
  existing directory. Peers disagree here: BuildKit lets the last file silently win,
  buildah 1.28 makes ``dest`` a directory, Docker's classic builder refuses; this refuses
  (the message is the classic builder's), so a Dockerfile never means two things;
- ADD (``unpack``) extracts a local tar archive, recognised by content, into ``dest``
  (see :mod:`dockyard.engine.archive`); anything else is copied as by COPY.

How each entry is written (merge, replace, owners, modes, times, links) is
:mod:`dockyard.engine.copier`'s part.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.engine.chmod import ModeChange, parse_chmod
from dockyard.engine.copier import TreeCopier
from dockyard.errors import BuildError, disk_full
from dockyard.executor.user import resolve_user
from dockyard.oci.rootpath import resolve
from dockyard.selector import (
    PatternMatcher,
    Selected,
    SelectionError,
    SourceNotFoundError,
    SourceSpec,
    SourceTree,
    select,
)


@dataclass(frozen=True, kw_only=True)
class CopySpec:
    """One COPY/ADD, with variables expanded and ``--chown`` already resolved to ids."""

    paths: tuple[str, ...]
    dest: str
    workdir: str = "/"
    chown: tuple[int, int] | None = None
    chmod: str = ""
    excludes: tuple[str, ...] = ()
    parents: bool = False
    unpack: bool = False
    follow_symlinks: bool = True
    allow_wildcard: bool = True
    allow_empty_wildcard: bool = True
    from_context: bool = True
    context_excludes: tuple[str, ...] = ()

    def selection(self) -> SourceSpec:
        """What decides which entries are copied (the cache key hashes the same)."""
        return SourceSpec(paths=self.paths, excludes=self.excludes, parents=self.parents,
                          follow_symlinks=self.follow_symlinks, allow_wildcard=self.allow_wildcard,
                          allow_empty_wildcard=self.allow_empty_wildcard)


@dataclass(frozen=True, kw_only=True)
class CopyStats:
    """What a copy wrote, for progress: non-directory entries and regular-file bytes."""

    files: int
    bytes: int


def copy_into(*, source_root: Path, dest_root: Path, spec: CopySpec, selected: Sequence[Selected] | None = None,
              present: frozenset[bytes] = frozenset(), remade: bool = False) -> CopyStats:
    """Copy ``spec``'s sources from ``source_root`` into ``dest_root``; see the module docstring.
    ``selected``: the selection the step's cache key hashed, copied as it was listed then (files
    added since are not the key's), instead of selecting again. ``present`` and ``remade``: a pass
    of a copy that reuses files (:class:`~dockyard.engine.copier.TreeCopier`, :mod:`.recopy`).

    Raises :class:`BuildError` for every failure, system errors included (with paths as the
    container sees them, never the host's mount points).
    """
    keyword = "ADD" if spec.unpack else "COPY"
    try:
        return _copy_into(source_root, dest_root, spec, keyword, selected, present=present, remade=remade)
    except OSError as exc:
        if disk_full(exc):
            raise  # the worker names the store's filesystem that is full
        names = [os.fsdecode(n) for n in (exc.filename, exc.filename2) if n is not None]
        shown = [_container_path(name, (dest_root, source_root)) for name in names]
        where = f": {' -> '.join(shown)}" if shown else ""
        raise BuildError(f"{keyword} failed: {exc.strerror or exc}{where}") from exc


def _container_path(name: str, roots: tuple[Path, ...]) -> str:
    for root in roots:
        prefix = os.fspath(root).rstrip("/") + "/"
        if name.startswith(prefix):
            return name[len(prefix) - 1:]
    return name


def _copy_into(source_root: Path, dest_root: Path, spec: CopySpec, keyword: str,
               selected: Sequence[Selected] | None, *, present: frozenset[bytes], remade: bool) -> CopyStats:
    mode = parse_chmod(spec.chmod) if spec.chmod else None
    if selected is None:
        ignore = PatternMatcher(spec.context_excludes) if spec.from_context else None
        try:
            selected = select(SourceTree(source_root, ignore=ignore), spec.selection())
        except SourceNotFoundError as exc:
            raise _not_found(keyword, exc.args[0], spec.from_context) from None
        except SelectionError as exc:
            raise BuildError(f"{keyword} failed: {exc}") from None

    if not selected:
        return CopyStats(files=0, bytes=0)  # only empty wildcards: BuildKit's docopy does nothing
    droot, dest_host, dest_dir = destination(dest_root, spec)
    exists = _lexists(dest_host)
    if len(selected) > 1 and not dest_dir and not (exists and os.path.isdir(dest_host)):
        raise BuildError(
            f"When using {keyword} with more than one source file, "
            "the destination must be a directory and end with a /",
            hint=f"write the destination as {spec.dest.rstrip('/')}/")
    dir_mode = mode.octal if mode is not None and mode.octal is not None else 0o755
    owner = spec.chown if spec.chown is not None else ((0, 0) if spec.from_context else None)
    maker = _DirMaker(droot, dir_mode, spec.chown)
    maker.make(dest_host if dest_dir else os.path.dirname(dest_host))

    copier = TreeCopier(dest_root=droot, owner=owner, mode=mode, in_place=spec.from_context, present=present,
                        remade=remade)
    if spec.unpack:  # tarfile and the decompressors load for ADD only (issue 17, start-up)
        from dockyard.engine import archive

    for item in selected:
        node = item.top.node
        if spec.unpack and stat.S_ISREG(node.st.st_mode) and archive.is_archive(node.host):
            maker.make(dest_host)
            archive.extract(node.host, dest_host, chown=spec.chown, counts=copier.counts)
            continue
        if node.is_dir:
            maker.make(dest_host)
            copier.copy_contents(node.host, dest_host, item.entries)
            continue
        target = dest_host
        if _lexists(dest_host) and os.path.isdir(dest_host):
            target = dest_host + b"/" + os.fsencode(posixpath.basename(item.top.name))
        copier.copy_entry(node.host, target, node.st)
    return CopyStats(files=copier.counts.files, bytes=copier.counts.bytes)


def destination(dest_root: Path, spec: CopySpec) -> tuple[bytes, bytes, bool]:
    """(the root, ``dest`` resolved inside it, whether ``dest`` names a directory)."""
    dest = spec.dest if spec.dest.startswith("/") else posixpath.join("/", spec.workdir or "/", spec.dest)
    dest_dir = spec.dest.endswith("/") or spec.dest in ("", ".") or spec.parents
    droot = os.fsencode(dest_root).rstrip(b"/") or b"/"
    dest_host = resolve(droot, dest)
    return droot, dest_host, dest_dir or dest_host == droot


def _lexists(path: bytes) -> bool:
    return os.path.lexists(path)


def _not_found(keyword: str, path: str, from_context: bool) -> BuildError:
    where = "build context or excluded by .dockerignore" if from_context else "source"
    return BuildError(f"{keyword} failed: file not found in {where}: {path}",
                      hint="check the path (it is relative to the context root or the --from stage's /)")


class _DirMaker:
    """``mkdir -p`` inside the destination root with the mode and owner BuildKit gives new parents."""

    def __init__(self, root: bytes, mode: int, chown: tuple[int, int] | None) -> None:
        self.root = root
        self.mode = mode
        self.chown = chown

    def make(self, host: bytes) -> None:
        if not host.startswith(self.root):
            raise BuildError(f"destination {os.fsdecode(host)!r} is outside the root")
        rel = host[len(self.root):].strip(b"/")
        current = self.root
        for part in rel.split(b"/") if rel else []:
            current = current + b"/" + part
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                os.mkdir(current, 0o700)
                if self.chown is not None:
                    os.chown(current, *self.chown, follow_symlinks=False)
                os.chmod(current, self.mode)
                continue
            if stat.S_ISLNK(st.st_mode):
                # resolve() followed every existing link; one appearing now was made by this copy
                raise BuildError(f"destination path component {os.fsdecode(current[len(self.root):])} is a symlink")
            if not stat.S_ISDIR(st.st_mode):
                raise BuildError(f"cannot copy to non-directory: {os.fsdecode(current[len(self.root):])}")


def make_dirs(root: Path, path: str, *, chown: tuple[int, int] | None, mode: int = 0o755) -> None:
    """``mkdir -p path`` inside ``root`` (WORKDIR): like BuildKit's MkdirAll, every directory it
    creates, parents included, gets ``mode`` and the owner; existing ones are left as they are."""
    base = os.fsencode(root).rstrip(b"/") or b"/"
    _DirMaker(base, mode, chown).make(resolve(root, path))


def resolve_chown(root: Path, chown: str) -> tuple[int, int]:
    """``--chown=user[:group]`` as ids, names looked up in ``root``'s /etc/passwd and /etc/group.

    BuildKit's rules: a numeric user without a group gets the same number as gid; a user
    name without a group gets that user's primary group. Unlike BuildKit (which silently
    uses 0), an unknown name is an error naming it, as its documentation promises.
    """
    user, _, group = chown.partition(":")
    if not user:
        raise BuildError(f"invalid --chown value {chown!r}: the user is missing")
    if user.isdigit():
        uid = gid = int(user)
    else:
        found = resolve_user(root, user)
        uid, gid = found.uid, found.gid
    if group:
        gid = int(group) if group.isdigit() else resolve_user(root, f"0:{group}").gid
    return uid, gid


__all__ = ["CopySpec", "CopyStats", "ModeChange", "copy_into", "destination", "make_dirs", "resolve_chown"]

"""Copying one source tree onto a destination tree, entry by entry, as BuildKit's copier does.

The rules that decide what an entry becomes (learned from BuildKit's ``fsutil/copy``):

- a directory merges into an existing directory; onto anything else it is an error
  (``cannot copy to non-directory``); a merged directory below the top takes the source's
  metadata, the top one keeps its own mode and owner and only takes the source's mtime;
- a file, symlink or special file replaces an existing file or symlink (the old entry is
  unlinked, never written through), and onto an existing directory it is an error;
- symlinks are recreated as symlinks (never followed), device nodes, fifos and sockets with
  ``mknod``; regular files that share an inode in the source share one in the destination;
- every entry gets the source's mode (or ``--chmod``'s), owner (or the fixed owner), atime
  and mtime, and its extended attributes (best effort; ``trusted.overlay.*`` is the
  snapshotter's business and never copied). A directory's times are set after its children
  are written, so they stick.

Excluded entries (``--exclude``, .dockerignore) are skipped; an excluded directory is still
walked when some ``!pattern`` could re-include a child, and is then created only if something
inside it is copied. ``--parents`` uses the same lazy creation with an include pattern.

Nothing here follows a symlink on either side: destination entries are created with
``O_NOFOLLOW``/``O_EXCL`` below a top directory the caller resolved inside the root.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field

from dockyard import cancel
from dockyard.dockerfile.dockerignore import PatternMatcher
from dockyard.engine.chmod import ModeChange
from dockyard.engine.sources import match_component
from dockyard.errors import BuildError
from dockyard.oci.tarfs import is_overlay_xattr

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 26  # 64 MiB per call: big files copy in-kernel, and Ctrl-C is seen between calls


@dataclass
class CopyCounts:
    """Running totals of one copy (non-directory entries and regular-file bytes)."""

    files: int = 0
    bytes: int = 0


@dataclass(frozen=True, kw_only=True)
class Filters:
    """Which entries below a copied source are taken.

    ``excludes`` match paths relative to the copied source (``--exclude``), ``ignore`` paths
    relative to the source root (``.dockerignore``), ``include`` (``--parents``) paths
    relative to the copied source; an entry is taken when included and not excluded.
    """

    excludes: PatternMatcher | None = None
    ignore: PatternMatcher | None = None
    include: PatternMatcher | None = None

    @property
    def reinclusions(self) -> bool:
        return any(m is not None and m.has_exclusions for m in (self.excludes, self.ignore))


@dataclass
class _Pending:
    src: bytes
    target: bytes
    st: os.stat_result
    created: bool = False


@dataclass
class _Walk:
    filters: Filters
    pending: list[_Pending] = field(default_factory=list)


@dataclass
class TreeCopier:
    """Copies entries into one destination root; keeps hard-link state across sources."""

    dest_root: bytes
    owner: tuple[int, int] | None
    mode: ModeChange | None
    counts: CopyCounts = field(default_factory=CopyCounts)
    _inodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    _range_ok: bool = True

    def container_path(self, target: bytes) -> str:
        """``target`` as the container sees it (for error messages)."""
        rel = target[len(self.dest_root):] if target.startswith(self.dest_root) else target
        return os.fsdecode(rel) or "/"

    # -- tops -------------------------------------------------------------------------

    def copy_contents(self, src: bytes, rel_root: str, target: bytes, filters: Filters) -> None:
        """Copy the contents of directory ``src`` into the existing directory ``target``.

        ``target`` keeps its mode and owner (it is the destination, not a copied entry) but
        takes the source directory's times, as BuildKit does.
        """
        st = os.lstat(src)
        if not stat.S_ISDIR(os.lstat(target).st_mode):
            raise BuildError(f"cannot copy to non-directory: {self.container_path(target)}")
        self._children(src, target, rel_top="", rel_root=rel_root, walk=_Walk(filters))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def copy_entry(self, src: bytes, target: bytes, st: os.stat_result) -> None:
        """Copy one non-directory entry ``src`` (already lstat'ed as ``st``) to ``target``."""
        self._non_dir(src, target, st)

    # -- walking ----------------------------------------------------------------------

    def _children(self, src: bytes, target: bytes, *, rel_top: str, rel_root: str, walk: _Walk) -> None:
        with os.scandir(src) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            name = os.fsdecode(entry.name)
            child_top = f"{rel_top}/{name}" if rel_top else name
            child_root = f"{rel_root}/{name}" if rel_root and rel_root != "." else name
            self._entry(entry.path, target + b"/" + entry.name, entry.stat(follow_symlinks=False),
                        rel_top=child_top, rel_root=child_root, walk=walk)

    def _entry(self, src: bytes, target: bytes, st: os.stat_result, *, rel_top: str, rel_root: str,
               walk: _Walk) -> None:
        filters, pending = walk.filters, walk.pending
        excluded = bool(
            (filters.excludes is not None and filters.excludes.matches(rel_top))
            or (filters.ignore is not None and filters.ignore.matches(rel_root)))
        included = not excluded and (filters.include is None or filters.include.matches(rel_top))
        is_dir = stat.S_ISDIR(st.st_mode)
        if not included:
            if not is_dir:
                return
            if excluded and not filters.reinclusions:
                return
            if not excluded and filters.include is not None and not _could_include(filters.include, rel_top):
                return
        if not is_dir:
            self._create_pending(pending)
            self._non_dir(src, target, st)
            return
        if included:
            self._create_pending(pending)
            self._make_dir(target)
            self._children(src, target, rel_top=rel_top, rel_root=rel_root, walk=walk)
            self._set_meta(src, target, st)
            return
        pending.append(_Pending(src, target, st))
        self._children(src, target, rel_top=rel_top, rel_root=rel_root, walk=walk)
        done = pending.pop()
        if done.created:
            self._set_meta(src, target, st)

    def _create_pending(self, pending: list[_Pending]) -> None:
        for item in pending:
            if not item.created:
                self._make_dir(item.target)
                item.created = True

    def _make_dir(self, target: bytes) -> bool:
        try:
            os.mkdir(target, 0o700)
            return True
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(target).st_mode):
                raise BuildError(f"cannot copy to non-directory: {self.container_path(target)}") from None
            return False

    # -- entries ----------------------------------------------------------------------

    def _make_room(self, target: bytes) -> None:
        try:
            tst = os.lstat(target)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(tst.st_mode):
            raise BuildError(f"cannot replace to directory {self.container_path(target)} with file",
                             hint="a file cannot overwrite a directory; remove the directory in an earlier step")
        os.unlink(target)

    def _non_dir(self, src: bytes, target: bytes, st: os.stat_result) -> None:
        mode = st.st_mode
        self.counts.files += 1
        if stat.S_ISREG(mode):
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                first = self._inodes.get(key)
                if first is not None:
                    self._make_room(target)
                    os.link(first, target)
                    return
                self._inodes[key] = target
            self._copy_file(src, target, st)
            self.counts.bytes += st.st_size
            return
        self._make_room(target)
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), target)
            uid, gid = self.owner if self.owner is not None else (st.st_uid, st.st_gid)
            os.chown(target, uid, gid, follow_symlinks=False)
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
            return
        os.mknod(target, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        self._set_meta(src, target, st)

    def _copy_file(self, src: bytes, target: bytes, st: os.stat_result) -> None:
        fin = os.open(src, _READ)
        try:
            try:
                fout = os.open(target, _CREATE, 0o600)
            except FileExistsError:
                self._make_room(target)
                fout = os.open(target, _CREATE, 0o600)
            try:
                self._copy_bytes(fin, fout, st.st_size)
                uid, gid = self.owner if self.owner is not None else (st.st_uid, st.st_gid)
                os.fchown(fout, uid, gid)
                os.fchmod(fout, self._mode_for(st))
                _copy_xattrs(fin, fout)
                os.utime(fout, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(fout)
        finally:
            os.close(fin)

    def _copy_bytes(self, fin: int, fout: int, size: int) -> None:
        remaining = size
        while remaining > 0:
            cancel.check()
            if self._range_ok:
                try:
                    done = os.copy_file_range(fin, fout, min(remaining, _CHUNK))
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                        raise
                    self._range_ok = False
                    continue
            else:
                done = os.sendfile(fout, fin, None, min(remaining, _CHUNK))
            if done == 0:
                break
            remaining -= done

    def _mode_for(self, st: os.stat_result) -> int:
        return self.mode.apply(st.st_mode) if self.mode is not None else stat.S_IMODE(st.st_mode)

    def _set_meta(self, src: bytes, target: bytes, st: os.stat_result) -> None:
        uid, gid = self.owner if self.owner is not None else (st.st_uid, st.st_gid)
        os.chown(target, uid, gid, follow_symlinks=False)
        os.chmod(target, self._mode_for(st), follow_symlinks=False)
        _copy_xattrs_path(src, target)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _could_include(include: PatternMatcher, rel_top: str) -> bool:
    """Whether something below directory ``rel_top`` could match the ``--parents`` pattern.

    Pruning matters: ``COPY --parents --from=img a/b.txt /d/`` copies from ``/`` and would
    otherwise walk the whole image to find one file.
    """
    parts = rel_top.split("/")
    for pattern in include.patterns:
        wanted = pattern.text.split("/")
        ok = True
        for i, part in enumerate(parts):
            if i >= len(wanted):
                ok = False
                break
            if "**" in wanted[i]:
                break
            if not match_component(wanted[i], part):
                ok = False
                break
        if ok:
            return True
    return False


def _skip_xattr(name: str) -> bool:
    return is_overlay_xattr(name)


def _copy_xattrs(fin: int, fout: int) -> None:
    try:
        names = os.listxattr(fin)
    except OSError:
        return
    for name in names:
        if _skip_xattr(name):
            continue
        try:
            os.setxattr(fout, name, os.getxattr(fin, name))
        except OSError:
            continue  # best effort, as BuildKit: a filesystem may refuse a namespace


def _copy_xattrs_path(src: bytes, target: bytes) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if _skip_xattr(name):
            continue
        try:
            os.setxattr(target, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
        except OSError:
            continue

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

Which entries are copied (wildcards, .dockerignore, ``--exclude``, ``--parents``, directories
created only for what is inside them) is decided by :mod:`dockyard.selector`, once, for the
copy and its cache key alike; this module only writes what it is given.

Nothing here follows a symlink on either side: destination entries are created with
``O_NOFOLLOW``/``O_EXCL`` below a top directory the caller resolved inside the root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard import cancel
from dockyard.engine.chmod import ModeChange
from dockyard.errors import BuildError
from dockyard.oci.tarfs import SourceChanged, is_overlay_xattr
from dockyard.selector import Entry

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 26  # 64 MiB per call: big files copy in-kernel, and Ctrl-C is seen between calls


@dataclass
class CopyCounts:
    """Running totals of one copy (non-directory entries and regular-file bytes)."""

    files: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class _OpenDir:
    """A copied directory whose metadata is set once the walk leaves it."""

    prefix: str
    src: bytes
    target: bytes
    st: os.stat_result
    apply_meta: bool


@dataclass
class TreeCopier:
    """Copies entries into one destination root; keeps hard-link state across sources."""

    dest_root: bytes
    owner: tuple[int, int] | None
    mode: ModeChange | None
    # the sources are read in place (a build context): each file copied must still be the one the
    # selection stat'ed (and a step's key hashed), else SourceChanged (engine/contextcheck.py)
    in_place: bool = False
    # regular files (names below dest_root) already in place, left as they are; and whether an
    # earlier pass of this copy made the directories, whose metadata is then set as for new ones
    # (dockyard.engine.recopy links a copy's unchanged files between two passes)
    present: frozenset[bytes] = frozenset()
    remade: bool = False
    counts: CopyCounts = field(default_factory=CopyCounts)
    _inodes: dict[tuple[int, int], bytes] = field(default_factory=dict)
    _range_ok: bool = True

    def container_path(self, target: bytes) -> str:
        """``target`` as the container sees it (for error messages)."""
        rel = target[len(self.dest_root):] if target.startswith(self.dest_root) else target
        return os.fsdecode(rel) or "/"

    # -- tops -------------------------------------------------------------------------

    def copy_contents(self, src: bytes, target: bytes, entries: Iterable[Entry]) -> None:
        """Copy ``entries`` (the selector's walk below directory ``src``) into the existing
        directory ``target``.

        ``target`` keeps its mode and owner (it is the destination, not a copied entry) but
        takes the source directory's times, as BuildKit does. A directory entry is finished
        (metadata, then times) once the walk has left it, so its times stick; a ``lazy``
        directory that already existed keeps its own metadata (fsutil ``createParentDirs``).
        """
        st = os.lstat(src)
        if not stat.S_ISDIR(os.lstat(target).st_mode):
            raise BuildError(f"cannot copy to non-directory: {self.container_path(target)}")
        open_dirs: list[_OpenDir] = []
        for entry in entries:
            while open_dirs and not entry.rel.startswith(open_dirs[-1].prefix):
                self._finish(open_dirs.pop())
            path = target + b"/" + os.fsencode(entry.rel)
            node = entry.node
            if node.is_dir:
                created = self._make_dir(path)
                open_dirs.append(_OpenDir(entry.rel + "/", node.host, path, node.st,
                                          created or self.remade or not entry.lazy))
            else:
                self._non_dir(node.host, path, node.st)
        while open_dirs:
            self._finish(open_dirs.pop())
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def copy_entry(self, src: bytes, target: bytes, st: os.stat_result) -> None:
        """Copy one non-directory entry ``src`` (already lstat'ed as ``st``) to ``target``."""
        self._non_dir(src, target, st)

    def _finish(self, item: _OpenDir) -> None:
        if item.apply_meta:
            self._set_meta(item.src, item.target, item.st)

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
            if self.present and target[len(self.dest_root):].lstrip(b"/") in self.present:
                return
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
                if self.in_place:
                    now = os.fstat(fin)
                    if (now.st_ino, now.st_ctime_ns, now.st_size) != (st.st_ino, st.st_ctime_ns, st.st_size):
                        raise SourceChanged(src)
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
        copy_xattrs_path(src, target)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


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


def copy_xattrs_path(src: bytes, target: bytes) -> None:
    """Copy the extended attributes of ``src`` onto ``target`` (links not followed), overlayfs's own
    excepted; best effort, as for files."""
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

"""Applying a layer blob onto a directory: how base images become snapshots.

Two targets need two treatments of whiteouts:

* ``Whiteouts.OVERLAY``: the directory is an empty snapshot that will be an overlay
  lowerdir above its parents. Deletions cannot be done here (the deleted files live in
  other directories), so ``.wh.NAME`` becomes the char device 0:0 and ``.wh..wh..opq``
  the ``trusted.overlay.opaque=y`` xattr (``user.overlay.opaque`` in a user namespace),
  exactly what the kernel would have written.
* ``Whiteouts.APPLY``: the directory already holds the layers below (a flattened rootfs,
  the copy-based snapshotter); ``.wh.NAME`` removes NAME and ``.wh..wh..opq`` empties the
  directory of everything that did not come from this same layer.

Nothing is ever written outside the target: absolute names and ``..`` are refused, and
parent directories are resolved with symlinks confined to the target
(:mod:`dockyard.oci.rootpath`). The diff_id is computed while reading, so the caller can
check it against the image config's ``rootfs.diff_ids``.
"""

from __future__ import annotations

import contextlib
import enum
import os
import stat
import tarfile
from dataclasses import dataclass

from dockyard import cancel
from dockyard.digest import CHUNK, Digest, HashingReader
from dockyard.errors import BuildError, disk_full
from dockyard.oci.layer import open_uncompressed
from dockyard.oci.rootpath import UnsafePathError, check_member_name, remove_path, resolve
from dockyard.oci.tarfs import OPAQUE_MARKER, WHITEOUT_PREFIX, is_overlay_xattr, mark_opaque

_XATTR_PREFIX = "SCHILY.xattr."


class Whiteouts(enum.Enum):
    """What to do with whiteout entries (see the module docstring)."""

    OVERLAY = "overlay"
    APPLY = "apply"


@dataclass(frozen=True, kw_only=True)
class Applied:
    """The outcome of applying one layer."""

    diff_id: Digest
    size: int  # uncompressed tar bytes
    entries: int


class _Applier:
    def __init__(self, root: bytes, whiteouts: Whiteouts) -> None:
        self.root = root
        self.whiteouts = whiteouts
        self.written: set[bytes] = set()
        self.dir_times: list[tuple[bytes, int]] = []
        self.same_owner = os.geteuid() == 0

    def apply(self, tar: tarfile.TarFile) -> int:
        count = 0
        for member in tar:
            cancel.check()
            count += 1
            parts = check_member_name(member.name)
            if not parts:
                continue  # the root directory itself
            parent = resolve(self.root, b"/".join(parts[:-1]), create_dirs=True)
            base = parts[-1]
            try:
                if base == OPAQUE_MARKER:
                    self._opaque(parent)
                elif base.startswith(WHITEOUT_PREFIX):
                    self._whiteout(parent, base[len(WHITEOUT_PREFIX):])
                else:
                    self._entry(tar, member, parent + b"/" + base)
            except OSError as exc:
                if disk_full(exc):
                    raise  # the caller names the filesystem that is full
                raise BuildError(f"cannot apply layer entry {member.name!r}: {exc.strerror or exc}",
                                 hint="the layer may be corrupt, or the disk full") from exc
        for path, mtime in reversed(self.dir_times):
            os.utime(path, ns=(mtime, mtime), follow_symlinks=False)
        return count

    def _opaque(self, directory: bytes) -> None:
        if self.whiteouts is Whiteouts.OVERLAY:
            mark_opaque(directory)
            return
        with os.scandir(directory) as scan:
            names = [item.name for item in scan]
        for name in names:
            child = directory + b"/" + name
            if child not in self.written:
                remove_path(child)

    def _whiteout(self, parent: bytes, name: bytes) -> None:
        if not name or name in (b".", b".."):
            raise UnsafePathError(f"invalid whiteout for {os.fsdecode(name)!r}")
        target = parent + b"/" + name
        remove_path(target)
        if self.whiteouts is Whiteouts.OVERLAY:
            os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))

    def _entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo, dest: bytes) -> None:
        try:
            existing = os.lstat(dest)
        except FileNotFoundError:
            existing = None
        if existing is not None and not (member.isdir() and stat.S_ISDIR(existing.st_mode)):
            remove_path(dest)
        if member.isdir():
            if existing is None or not stat.S_ISDIR(existing.st_mode):
                os.mkdir(dest, 0o700)
        elif member.isreg():
            self._write_file(tar, member, dest)
        elif member.issym():
            os.symlink(os.fsencode(member.linkname), dest)
        elif member.islnk():
            source = resolve(self.root, b"/".join(check_member_name(member.linkname)), follow_last=False)
            os.link(source, dest, follow_symlinks=False)
            self.written.add(dest)
            return  # a hard link shares its target's metadata
        elif member.ischr() or member.isblk():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            os.mknod(dest, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        elif member.isfifo():
            os.mkfifo(dest, 0o600)
        else:
            return  # other types (GNU sparse, volume labels) are not part of OCI layers
        self.written.add(dest)
        self._metadata(member, dest)

    def _write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, dest: bytes) -> None:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            reader = tar.extractfile(member)
            if reader is not None:
                while chunk := reader.read(CHUNK):
                    cancel.check()
                    os.write(fd, chunk)
        finally:
            os.close(fd)

    def _metadata(self, member: tarfile.TarInfo, dest: bytes) -> None:
        symlink = member.issym()
        if self.same_owner:
            os.chown(dest, member.uid, member.gid, follow_symlinks=False)
        for key, value in member.pax_headers.items():
            name = key[len(_XATTR_PREFIX):]
            if key.startswith(_XATTR_PREFIX) and not symlink and not is_overlay_xattr(name):
                with contextlib.suppress(PermissionError):
                    os.setxattr(dest, name, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
        if not symlink:
            os.chmod(dest, member.mode & 0o7777)
        mtime = int(member.mtime * 1_000_000_000)
        if member.isdir():
            self.dir_times.append((dest, mtime))
        else:
            os.utime(dest, ns=(mtime, mtime), follow_symlinks=False)


def apply_layer(blob: str | os.PathLike[str], target: str | os.PathLike[str], *,
                whiteouts: Whiteouts) -> Applied:
    """Extract the layer blob at ``blob`` (gzip, zstd or plain tar) onto ``target``."""
    root = os.fsencode(os.path.realpath(target))
    with open_uncompressed(blob) as stream:
        hashing = HashingReader(stream)  # the diff_id costs no second pass
        with tarfile.open(fileobj=hashing, mode="r|", errorlevel=2) as tar:  # type: ignore[call-overload]
            count = _Applier(root, whiteouts).apply(tar)
        hashing.drain()
    return Applied(diff_id=hashing.digest(), size=hashing.size, entries=count)

"""Deterministic tar streams of a directory tree, with overlayfs whiteouts turned into OCI ones.

A layer's digest must depend on the files alone, so the same tree always gives the same
bytes: entries in a fixed order (depth first, names sorted bytewise within a directory,
whiteout markers sorted by the name they are emitted under), numeric owners only (no user
or group names from the host), no access or change times, mtimes clamped to
SOURCE_DATE_EPOCH when it is given, and PAX records only where ustar cannot hold a value.

The directory may be an overlayfs upperdir. There, a deleted path is a character device
0:0 and becomes an empty ``.wh.NAME`` entry; a directory that replaced the lower one
carries ``trusted.overlay.opaque=y`` and gets a ``.wh..wh..opq`` entry right after it;
the other ``trusted.overlay.*`` attributes are bookkeeping of the kernel and are dropped.
Inside a user namespace (rootless builds) overlayfs is mounted with ``userxattr`` and keeps
the same attributes under ``user.overlay.*``, which are read and dropped the same way.
Mounts made by :mod:`dockyard.store.snapshots` disable redirect_dir and metacopy, whose
upperdirs would not hold complete files; meeting their attributes here is an error.

The header encoder is ours rather than :mod:`tarfile`'s: it writes binary xattr values
(security.capability) as raw PAX bytes, as Go's archive/tar does, never pads the archive
to a 10 KiB record, and costs less per entry, which matters for trees of many small files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from dockyard import cancel
from dockyard.errors import BuildError

BLOCK = 512
CHUNK = 1 << 20
_OPEN_SOURCE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
WHITEOUT_PREFIX = b".wh."
OPAQUE_MARKER = b".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
# overlayfs's bookkeeping namespaces: trusted.* as real root, user.* with ``userxattr`` in a user
# namespace, user.fuseoverlayfs.* from fuse-overlayfs (the rootless fallback on older kernels)
OVERLAY_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.")
_OPAQUE_XATTRS = tuple(f"{prefix}opaque" for prefix in OVERLAY_XATTR_PREFIXES)
# xattrs never copied into a layer: overlay's own bookkeeping and the host's SELinux labels.
_DROPPED_XATTR_PREFIXES = (*OVERLAY_XATTR_PREFIXES, "security.selinux")
# overlay features whose upperdirs are not self-contained diffs.
_INCOMPLETE_XATTRS = tuple(f"{prefix}{name}" for prefix in OVERLAY_XATTR_PREFIXES for name in ("redirect", "metacopy"))


def is_overlay_xattr(name: str) -> bool:
    """Whether ``name`` is overlayfs bookkeeping (never part of an image, never copied)."""
    return name.startswith(OVERLAY_XATTR_PREFIXES)


def is_opaque(path: bytes | str) -> bool:
    """Whether the upperdir directory ``path`` is marked opaque (in either xattr namespace)."""
    for key in _OPAQUE_XATTRS:
        try:
            if os.getxattr(path, key, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def mark_opaque(path: bytes | str) -> None:
    """Mark the upperdir directory ``path`` opaque the way the overlay mounted over it reads it.

    Real root writes ``trusted.overlay.opaque``; in a user namespace only ``user.*`` can be
    set (the kernel refuses trusted.* there with EPERM), which is what ``userxattr`` reads.
    """
    try:
        os.setxattr(path, OPAQUE_XATTR, b"y", follow_symlinks=False)
    except PermissionError:
        os.setxattr(path, "user.overlay.opaque", b"y", follow_symlinks=False)


def clear_opaque(path: bytes | str) -> None:
    """Remove an opaque marker of either namespace from ``path`` (none present is fine)."""
    for key in _OPAQUE_XATTRS:
        try:
            os.removexattr(path, key, follow_symlinks=False)
        except OSError:
            continue

REG, LNK, SYM, CHR, BLK, DIR, FIFO = b"0", b"1", b"2", b"3", b"4", b"5", b"6"


class Sink(Protocol):
    """Where tar bytes go (a hashing, compressing chain in :mod:`dockyard.oci.layer`)."""

    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, kw_only=True)
class TarEntry:
    """One tar header's worth of metadata; ``source`` is the host file for regular files."""

    name: bytes
    kind: bytes
    mode: int = 0
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: int = 0
    linkname: bytes = b""
    devmajor: int = 0
    devminor: int = 0
    xattrs: tuple[tuple[str, bytes], ...] = ()
    source: bytes | None = field(default=None, repr=False)
    # (inode, ctime_ns) of ``source`` when the entry was made from it: the file archived must still be
    # that one, unchanged (a build context is read in place: dockyard.engine.contextcheck)
    identity: tuple[int, int] | None = field(default=None, repr=False)


class SourceChanged(Exception):
    """A file archived or copied is not the one its entry was made from (``path``: the host file)."""

    def __init__(self, path: bytes) -> None:
        super().__init__(os.fsdecode(path))
        self.path = path


def _octal(value: int, width: int) -> bytes | None:
    """``value`` as a NUL-terminated octal field, or None when it does not fit."""
    if value < 0 or value >= 8 ** (width - 1):
        return None
    return b"%0*o\0" % (width - 1, value)


def _pax_record(key: str, value: bytes) -> bytes:
    body = b" " + key.encode() + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length).encode()) + len(body) != length:
        length += 1
    return str(length).encode() + body


_MAGIC = b"ustar\x0000"
# the checksum counts its own field as eight spaces; every other fixed byte is a zero
_FIXED_SUM = sum(b" " * 8) + sum(_MAGIC)


def _raw_header(*, name: bytes, mode: int, uid: int, gid: int, size: int, mtime: int, kind: bytes,
                linkname: bytes, devmajor: int, devminor: int) -> bytes:
    def field_or_zero(value: int, width: int) -> bytes:
        return _octal(value, width) or _octal(0, width) or b""

    name, linkname = name[:100], linkname[:100]
    numbers = b"".join((field_or_zero(mode, 8), field_or_zero(uid, 8), field_or_zero(gid, 8),
                        field_or_zero(size, 12), field_or_zero(mtime, 12)))
    devices = field_or_zero(devmajor, 8) + field_or_zero(devminor, 8)
    # summing only the bytes that are not zero: a header is mostly padding (many small files)
    checksum = b"%06o\0 " % (_FIXED_SUM + sum(name) + sum(numbers) + sum(kind) + sum(linkname) + sum(devices))
    return b"".join((name.ljust(100, b"\0"), numbers, checksum, kind, linkname.ljust(100, b"\0"), _MAGIC,
                     b"\0" * 64, devices, b"\0" * 167))


def _fits_ustar(text: bytes) -> bool:
    return len(text) <= 100 and text.isascii()


def encode_header(entry: TarEntry) -> bytes:
    """The header block(s) for ``entry``: a PAX extended header first when ustar cannot hold it."""
    name, linkname = entry.name, entry.linkname
    if (not entry.xattrs and len(name) <= 100 and len(linkname) <= 100 and name.isascii() and linkname.isascii()
            and 0 <= entry.uid < _MAX8 and 0 <= entry.gid < _MAX8 and 0 <= entry.size < _MAX12
            and entry.mtime < _MAX12 and 0 <= entry.mode < _MAX8
            and 0 <= entry.devmajor < _MAX8 and 0 <= entry.devminor < _MAX8):
        return _plain_header(entry)  # the common case in one formatting step
    records: list[tuple[str, bytes]] = []
    if not _fits_ustar(entry.name):
        records.append(("path", entry.name))
    if entry.linkname and not _fits_ustar(entry.linkname):
        records.append(("linkpath", entry.linkname))
    for key, value, width in (("uid", entry.uid, 8), ("gid", entry.gid, 8), ("size", entry.size, 12),
                              ("mtime", entry.mtime, 12)):
        if _octal(value, width) is None:
            records.append((key, str(value).encode()))
    records.extend((f"SCHILY.xattr.{key}", value) for key, value in entry.xattrs)
    main = _raw_header(name=entry.name, mode=entry.mode, uid=entry.uid, gid=entry.gid, size=entry.size,
                       mtime=max(entry.mtime, 0), kind=entry.kind, linkname=entry.linkname,
                       devmajor=entry.devmajor, devminor=entry.devminor)
    if not records:
        return main
    payload = b"".join(_pax_record(key, value) for key, value in sorted(records))
    base = entry.name.rstrip(b"/").rsplit(b"/", 1)[-1]
    pax = _raw_header(name=(b"PaxHeaders/" + base)[:100], mode=0o644, uid=0, gid=0, size=len(payload),
                      mtime=max(entry.mtime, 0), kind=b"x", linkname=b"", devmajor=0, devminor=0)
    return pax + payload + padding(len(payload)) + main


_MAX8, _MAX12 = 8 ** 7, 8 ** 11


_NO_DEVICES = b"%07o\0%07o\0" % (0, 0)
_NO_DEVICES_SUM = sum(_NO_DEVICES)
_NO_LINK = b"\0" * 100
_AFTER_LINK = _MAGIC + b"\0" * 64  # magic and version, then empty user and group names
_EMPTY_PREFIX = b"\0" * 167  # the empty ustar prefix and the block's tail


def _plain_header(entry: TarEntry) -> bytes:
    """A ustar header for an entry whose every field fits (what :func:`_raw_header` makes then);
    the constant parts and their sums are made once (a COPY of 50,000 files makes 50,000)."""
    mtime, linkname = entry.mtime, entry.linkname
    numbers = b"%07o\0%07o\0%07o\0%011o\0%011o\0" % (entry.mode, entry.uid, entry.gid, entry.size,
                                                        mtime if mtime > 0 else 0)
    if entry.devmajor or entry.devminor:
        devices = b"%07o\0%07o\0" % (entry.devmajor, entry.devminor)
        total = _FIXED_SUM + sum(devices)
    else:
        devices, total = _NO_DEVICES, _FIXED_SUM + _NO_DEVICES_SUM
    total += sum(entry.name) + sum(numbers) + sum(entry.kind)
    if linkname:
        total += sum(linkname)
        linkname = linkname.ljust(100, b"\0")
    else:
        linkname = _NO_LINK
    return b"".join((entry.name.ljust(100, b"\0"), numbers, b"%06o\0 " % total, entry.kind, linkname, _AFTER_LINK,
                     devices, _EMPTY_PREFIX))


def padding(size: int) -> bytes:
    """Zero bytes that complete a data section of ``size`` bytes to a whole block."""
    return b"\0" * (-size % BLOCK)


def _xattrs(path: bytes) -> tuple[bool, tuple[tuple[str, bytes], ...]]:
    """Whether ``path`` is an opaque overlay dir, and the xattrs a layer keeps."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return False, ()
    opaque = False
    kept: list[tuple[str, bytes]] = []
    for key in sorted(names):
        if key in _INCOMPLETE_XATTRS:
            raise BuildError(
                f"{os.fsdecode(path)} has {key}: the snapshot was made with an overlay feature that "
                "stores partial files", hint="mount overlays with redirect_dir=off,metacopy=off")
        if key in _OPAQUE_XATTRS:
            opaque = opaque or os.getxattr(path, key, follow_symlinks=False) == b"y"
            continue
        if key.startswith(_DROPPED_XATTR_PREFIXES):
            continue
        kept.append((key, os.getxattr(path, key, follow_symlinks=False)))
    return opaque, tuple(kept)


def walk(root: str | os.PathLike[str], *, source_date_epoch: int | None = None) -> Iterator[TarEntry]:  # noqa: C901 - the tar walk: one branch per file type, kept in one pass for speed
    """The entries of a layer made of the tree under ``root`` (``root`` itself is not an entry).

    Hard links inside the tree become link entries to the first name in walk order;
    sockets are skipped (tar cannot hold them).
    """
    top = os.fsencode(os.fspath(root))
    seen_inodes: dict[tuple[int, int], bytes] = {}

    def clamp(mtime: float) -> int:
        seconds = int(mtime)
        return min(seconds, source_date_epoch) if source_date_epoch is not None else seconds

    def visit(directory: bytes, prefix: bytes, *, opaque: bool = False, mtime: int = 0) -> Iterator[TarEntry]:  # noqa: C901 - per-entry file type dispatch of the walk (hot loop)
        with os.scandir(directory) as scan:
            names = [item.name for item in scan]
        keyed = []
        for name in names:
            st = os.lstat(directory + b"/" + name)
            whiteout = stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
            keyed.append((WHITEOUT_PREFIX + name if whiteout else name, name, st, whiteout))
        keyed.sort(key=lambda item: item[0])
        # fuse-overlayfs marks a replaced directory with files (.wh..wh..opq, and a whiteout
        # named .wh..opq) besides its xattr: they mean the one opaque marker, emitted once
        marked = [item for item in keyed if item[0] == OPAQUE_MARKER]
        if prefix and (opaque or marked):
            yield TarEntry(name=prefix + OPAQUE_MARKER, kind=REG, mode=0, mtime=mtime)
        for emitted, name, st, whiteout in keyed:
            if emitted == OPAQUE_MARKER:
                continue
            path = directory + b"/" + name
            rel = prefix + emitted
            mtime = clamp(st.st_mtime)
            if whiteout:
                yield TarEntry(name=rel, kind=REG, mode=0, mtime=mtime)
                continue
            mode, uid, gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
            if stat.S_ISDIR(st.st_mode):
                opaque, xattrs = _xattrs(path)
                yield TarEntry(name=rel + b"/", kind=DIR, mode=mode, uid=uid, gid=gid, mtime=mtime, xattrs=xattrs)
                yield from visit(path, rel + b"/", opaque=opaque, mtime=mtime)
            elif stat.S_ISREG(st.st_mode):
                _, xattrs = _xattrs(path)
                if st.st_nlink > 1:
                    inode = (st.st_dev, st.st_ino)
                    first = seen_inodes.get(inode)
                    if first is not None:
                        yield TarEntry(name=rel, kind=LNK, mode=mode, uid=uid, gid=gid, mtime=mtime, linkname=first,
                                       xattrs=xattrs)
                        continue
                    seen_inodes[inode] = rel
                yield TarEntry(name=rel, kind=REG, mode=mode, uid=uid, gid=gid, mtime=mtime, size=st.st_size,
                               xattrs=xattrs, source=path)
            elif stat.S_ISLNK(st.st_mode):
                yield TarEntry(name=rel, kind=SYM, mode=mode, uid=uid, gid=gid, mtime=mtime,
                               linkname=os.readlink(path))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                _, xattrs = _xattrs(path)
                yield TarEntry(name=rel, kind=CHR if stat.S_ISCHR(st.st_mode) else BLK, mode=mode, uid=uid, gid=gid,
                               mtime=mtime, devmajor=os.major(st.st_rdev), devminor=os.minor(st.st_rdev),
                               xattrs=xattrs)
            elif stat.S_ISFIFO(st.st_mode):
                yield TarEntry(name=rel, kind=FIFO, mode=mode, uid=uid, gid=gid, mtime=mtime)

    yield from visit(top, b"")


def write_tar(root: str | os.PathLike[str], sink: Sink, *, source_date_epoch: int | None = None) -> int:
    """Write the layer tar of ``root`` to ``sink``; returns the number of bytes written."""
    return write_entries(walk(root, source_date_epoch=source_date_epoch), sink)


def _check_read(fd: int, entry: TarEntry, source: bytes, copied: int) -> None:
    """The file read through ``fd`` was the entry's, whole: else SourceChanged (a context file that is
    not the one keyed) or BuildError (a snapshot file that changed size)."""
    if entry.identity is not None:
        now = os.fstat(fd)
        if (now.st_ino, now.st_ctime_ns) != entry.identity or now.st_size != entry.size:
            raise SourceChanged(source)
    if copied != entry.size:
        raise BuildError(f"{os.fsdecode(source)} changed size while being archived",
                         hint="something else is writing into the snapshot; retry the build")


def write_entries(entries: Iterable[TarEntry], sink: Sink) -> int:
    """Write a tar of ``entries`` (regular files' data read from their ``source``) to ``sink``;
    returns the number of bytes written.

    Small writes are gathered into 1 MiB chunks so that the hashing and compressing
    stages downstream see few, large calls.
    """
    buffer = bytearray()
    total = 0

    def flush() -> None:
        nonlocal total
        cancel.check()
        if buffer:
            sink.write(bytes(buffer))
            total += len(buffer)
            buffer.clear()

    big = CHUNK // 2
    for entry in entries:
        buffer += encode_header(entry)
        source = entry.source
        if source is None:
            continue
        size = entry.size
        fd = os.open(source, _OPEN_SOURCE)
        try:
            if size < big:  # a small file (most of a big context's): one read into the buffer
                chunk = os.read(fd, size)
                buffer += chunk
                copied = len(chunk)
                while chunk and copied < size:  # a short read: the rest
                    chunk = os.read(fd, size - copied)
                    buffer += chunk
                    copied += len(chunk)
            else:
                copied = 0
                while copied < size:
                    chunk = os.read(fd, min(CHUNK, size - copied))
                    if not chunk:
                        break
                    copied += len(chunk)
                    if len(chunk) >= big:
                        flush()
                        sink.write(chunk)
                        total += len(chunk)
                    else:
                        buffer += chunk
            _check_read(fd, entry, source, copied)
        finally:
            os.close(fd)
        buffer += b"\0" * (-size % BLOCK)
        if len(buffer) >= CHUNK:
            flush()
    buffer += b"\0" * (2 * BLOCK)
    flush()
    return total

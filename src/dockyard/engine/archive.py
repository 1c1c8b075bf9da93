"""ADD's local tar archives: recognised by content, extracted as ``tar -x`` would, never escaping.

Docker decides "is this an archive?" from the bytes alone: the file decompresses as gzip,
bzip2, xz or zstd (by magic number) or is plain, and the result yields a first tar header.
An empty file called ``x.tar.gz`` is therefore copied, not extracted, and a gzip of a text
file is copied as is.

Extraction merges into the destination directory (a directory entry over a directory keeps
it; anything else replaces what is there). Owners come from the archive's numeric ids
unless ``--chown`` is given, modes, times and ``SCHILY.xattr.*`` from the headers. Safety, as
BuildKit's untar (moby/go-archive ``Unpack`` in a root confined to the destination, called by
buildkit ``solver/llbsolver/file/unpack.go``): a leading ``/`` is dropped (the entry lands
inside the destination), a name or hard-link target that climbs out with ``..`` is refused,
and parents are resolved with symlinks confined to the destination, so an archive cannot write
through its own links to the host (a relative link climbing out of the destination is an
error there, as ``os.Root`` makes it; an absolute one resolves inside the destination).
Symlink targets are archive data, stored verbatim (``..`` and absolute ones included): they
resolve inside the image's root when used, so they are no escape. A pax global header is
skipped without applying its records to later entries, as Go's ``archive/tar`` and go-archive
skip it (Python's tarfile would apply them).
"""

from __future__ import annotations

import bz2
import contextlib
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from isal import igzip_threaded
from isal.igzip_lib import IsalError

from dockyard import cancel
from dockyard.errors import BuildError
from dockyard.oci.rootpath import UnsafePathError, resolve
from dockyard.oci.tarfs import is_overlay_xattr

if TYPE_CHECKING:
    from dockyard.engine.copier import CopyCounts

_CHUNK = 1 << 20


def _corrupt() -> tuple[type[Exception], ...]:
    """What a corrupt compressed stream raises: BuildKit's detection (a decompressed first tar
    header) then says "not an archive" and ADD copies the file as it is. Called in ``except``
    clauses, so zstandard (~10-25 ms to import) loads only when an archive step fails, not with
    every build that imports the COPY machinery."""
    import zstandard

    return (tarfile.TarError, EOFError, lzma.LZMAError, zstandard.ZstdError, cast("type[Exception]", IsalError),
            zlib.error)


def _not_an_archive() -> tuple[type[Exception], ...]:
    return (*_corrupt(), OSError, ValueError)

# isal ships no type hints; this is the one shape it is called with.
_igzip_open = cast("Callable[..., IO[bytes]]", igzip_threaded.open)
_XATTR = "SCHILY.xattr."


def _decompressor(head: bytes, raw: BinaryIO) -> IO[bytes]:
    if head.startswith(b"\x1f\x8b"):
        return _igzip_open(raw, "rb", threads=1)
    if head.startswith(b"BZh"):
        return bz2.BZ2File(raw, mode="rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw, mode="rb")
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        return cast("IO[bytes]", zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True))
    return raw


@contextlib.contextmanager
def _open(path: bytes) -> Iterator[IO[bytes]]:
    with open(path, "rb") as raw:
        head = raw.read(8)
        raw.seek(0)
        stream = _decompressor(head, raw)
        try:
            yield stream
        finally:
            if stream is not raw:
                stream.close()


class _TarInfo(tarfile.TarInfo):
    """Tar headers read as Go reads them: a pax global header (``g``) applies to nothing."""

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type == tarfile.XGLTYPE:
            archive.fileobj.read(self._block(self.size))  # type: ignore[attr-defined]
            return self.fromtarfile(archive)
        return super()._proc_member(archive)  # type: ignore[misc, no-any-return]


def _tar(stream: IO[bytes]) -> tarfile.TarFile:
    return tarfile.open(fileobj=stream, mode="r|", tarinfo=_TarInfo)


def is_archive(path: bytes) -> bool:
    """True when the regular file at ``path`` is a (possibly compressed) tar archive."""
    try:
        with _open(path) as stream, _tar(stream) as tar:
            return tar.next() is not None
    except _not_an_archive():
        return False


def extract(path: bytes, dest: bytes, *, chown: tuple[int, int] | None, counts: CopyCounts) -> None:
    """Extract the archive at ``path`` into the existing directory ``dest`` (see the module docstring)."""
    try:
        with _open(path) as stream, _tar(stream) as tar:
            _Extractor(dest, chown, counts).run(tar)
    except _corrupt() as exc:
        raise BuildError(f"ADD failed: cannot extract {os.fsdecode(os.path.basename(path))}: {exc}") from exc


def _safe_name(name: str) -> str:
    cleaned = posixpath.normpath(name.lstrip("/") or ".")
    if cleaned == ".." or cleaned.startswith("../"):
        raise BuildError(f"ADD failed: archive entry {name!r} is outside of the destination",
                         hint="the archive is malformed or hostile; entries must stay inside the destination")
    return "" if cleaned == "." else cleaned


class _Extractor:
    def __init__(self, dest: bytes, chown: tuple[int, int] | None, counts: CopyCounts) -> None:
        self.dest = dest.rstrip(b"/") or b"/"
        self.chown = chown
        self.counts = counts
        self.dir_times: list[tuple[bytes, int]] = []

    def run(self, tar: tarfile.TarFile) -> None:
        for member in tar:
            cancel.check()
            name = _safe_name(member.name)
            if not name:
                continue
            parent_rel, base = posixpath.split(name)
            try:
                parent = resolve(self.dest, parent_rel, create_dirs=True, refuse_relative_escape=True)
            except UnsafePathError as exc:
                raise BuildError(f"ADD failed: archive entry {member.name!r}: {exc}",
                                 hint="the archive writes through its own symlink to outside the destination") from None
            target = parent + b"/" + os.fsencode(base)
            self._entry(tar, member, name, target)
        for path, mtime in reversed(self.dir_times):
            os.utime(path, ns=(mtime, mtime), follow_symlinks=False)

    def _entry(self, tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, target: bytes) -> None:
        try:
            existing: os.stat_result | None = os.lstat(target)
        except FileNotFoundError:
            existing = None
        keep_dir = member.isdir() and existing is not None and stat.S_ISDIR(existing.st_mode)
        if existing is not None and not keep_dir:
            _remove(target)
        if member.isdir():
            if not keep_dir:
                os.mkdir(target, 0o700)
        elif member.isreg():
            self._write(tar, member, target)
        elif member.issym():
            os.symlink(member.linkname, target)
        elif member.islnk():
            source_name = _safe_name(member.linkname)
            source = resolve(self.dest, source_name, follow_last=False)
            os.link(source, target, follow_symlinks=False)
            self.counts.files += 1
            # Docker's untar applies a hard link's own header (owner, mode, times) to the inode
            # it shares, so the last header of a link group wins (mode not for a symlink inode).
            self._metadata(member, target, symlink=stat.S_ISLNK(os.lstat(target).st_mode))
            return
        elif member.ischr() or member.isblk() or member.isfifo():
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK if member.isblk() else stat.S_IFIFO
            os.mknod(target, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        else:
            return  # GNU sparse files, volume labels: nothing Docker would create either
        if not member.isdir():
            self.counts.files += 1
        self._metadata(member, target, symlink=member.issym())

    def _write(self, tar: tarfile.TarFile, member: tarfile.TarInfo, target: bytes) -> None:
        reader = tar.extractfile(member)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if reader is not None:
                while chunk := reader.read(_CHUNK):
                    cancel.check()
                    os.write(fd, chunk)
        finally:
            os.close(fd)
        self.counts.bytes += member.size

    def _metadata(self, member: tarfile.TarInfo, target: bytes, *, symlink: bool) -> None:
        uid, gid = self.chown if self.chown is not None else (member.uid, member.gid)
        os.chown(target, uid, gid, follow_symlinks=False)
        if not symlink:
            for key, value in member.pax_headers.items():
                xname = key[len(_XATTR):]
                if key.startswith(_XATTR) and not is_overlay_xattr(xname):
                    with contextlib.suppress(OSError):
                        os.setxattr(target, xname, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
            os.chmod(target, member.mode & 0o7777)
        mtime = int(member.mtime * 1_000_000_000)
        if member.isdir():
            self.dir_times.append((target, mtime))
        else:
            os.utime(target, ns=(mtime, mtime), follow_symlinks=False)


def _remove(path: bytes) -> None:
    if stat.S_ISDIR(os.lstat(path).st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)

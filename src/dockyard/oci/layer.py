"""Layer blobs: a directory becomes a compressed OCI layer in one streaming pass.

The design's rule is "write each byte once": the tar stream of a snapshot is hashed
(its sha256 is the diff_id), compressed and hashed again (the blob digest) while it is
produced, and only the compressed blob reaches the disk, as a temporary file in the
directory the caller names (the content store's, so that a rename ingests it).

gzip goes through isal's threaded writer, which compresses in other threads while this
one reads files; its output depends on the level and block size but not on the thread
count, so digests are stable across machines. zstd always runs in zstandard's threaded
mode for the same reason (its single-threaded mode frames differently).
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from isal import igzip_threaded

from dockyard.digest import Digest, HashingWriter
from dockyard.oci.tarfs import TarEntry, write_entries, write_tar

# isal ships no type hints; this is the one shape we call it with.
_igzip_open = cast("Callable[..., BinaryIO]", igzip_threaded.open)

# Same values as dockyard.oci.mediatypes (kept here so this module stands alone).
MEDIA_TYPE_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPE_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_TYPE_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Compression(enum.Enum):
    """How a layer blob is compressed; the value is the name users write (``compression=zstd``)."""

    NONE = "uncompressed"
    GZIP = "gzip"
    ZSTD = "zstd"

    @property
    def media_type(self) -> str:
        return {Compression.NONE: MEDIA_TYPE_TAR, Compression.GZIP: MEDIA_TYPE_GZIP,
                Compression.ZSTD: MEDIA_TYPE_ZSTD}[self]

    @property
    def default_level(self) -> int:
        # isal level 1 runs ~335 MB/s here (DESIGN); zstd's usual default is 3.
        return {Compression.NONE: 0, Compression.GZIP: 1, Compression.ZSTD: 3}[self]


@dataclass(frozen=True, kw_only=True)
class LayerOptions:
    """How to make a layer; ``threads`` 0 means one per core."""

    compression: Compression = Compression.GZIP
    level: int | None = None
    threads: int = 0
    source_date_epoch: int | None = None


@dataclass(frozen=True, kw_only=True)
class LayerBlob:
    """A layer written to ``path`` (a temporary file the caller moves into the content store)."""

    digest: Digest
    diff_id: Digest
    size: int
    uncompressed_size: int
    media_type: str
    path: Path


class _DiffSink:
    """Hashes the uncompressed tar (the diff_id) and hands it to the compressor."""

    def __init__(self, downstream: BinaryIO | HashingWriter) -> None:
        self._downstream = downstream
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self._hash.update(data)
        self.size += len(data)
        self._downstream.write(data)
        return len(data)

    def digest(self) -> Digest:
        return Digest("sha256", self._hash.hexdigest())


def _threads(requested: int) -> int:
    return requested if requested > 0 else max(1, os.cpu_count() or 1)


def make_layer(source: str | os.PathLike[str], dest_dir: str | os.PathLike[str], *,
               options: LayerOptions = LayerOptions()) -> LayerBlob:
    """Archive the tree under ``source`` (a snapshot or an upperdir) into a blob in ``dest_dir``.

    The file is named ``.layer-PID-*`` and is the caller's to rename (or delete); on error
    nothing is left behind, and after kill -9 the pid tells the store it is a leftover.
    """
    return _make(lambda sink: write_tar(source, sink, source_date_epoch=options.source_date_epoch), dest_dir,
                 options)


def make_layer_of(entries: Iterable[TarEntry], dest_dir: str | os.PathLike[str], *,
                  options: LayerOptions = LayerOptions()) -> LayerBlob:
    """Like :func:`make_layer`, for entries listed by the caller (already in layer order, times
    already clamped): a COPY from the build context is archived from the context itself."""
    return _make(lambda sink: write_entries(entries, sink), dest_dir, options)


def _make(write: Callable[[_DiffSink], object], dest_dir: str | os.PathLike[str], options: LayerOptions) -> LayerBlob:
    fd, name = tempfile.mkstemp(prefix=f".layer-{os.getpid()}-", dir=dest_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as raw:
            out = HashingWriter(raw)
            with _compressing(out, options) as compressed:
                sink = _DiffSink(compressed)
                write(sink)
            raw.flush()
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return LayerBlob(digest=out.digest(), diff_id=sink.digest(), size=out.size,
                     uncompressed_size=sink.size, media_type=options.compression.media_type, path=path)


def recompress(tar: BinaryIO, out: BinaryIO, *, options: LayerOptions = LayerOptions()) -> Digest:
    """Compress the uncompressed layer ``tar`` into ``out`` as ``options`` say; returns its diff_id.

    For ``force-compression``: a base image layer in another compression is converted, its
    content (and so its diff_id) unchanged, as BuildKit's exporter converts it."""
    with _compressing(out, options) as compressed:
        sink = _DiffSink(compressed)
        while chunk := tar.read(1 << 20):
            sink.write(chunk)
    return sink.digest()


@contextlib.contextmanager
def _compressing(out: BinaryIO | HashingWriter, options: LayerOptions) -> Iterator[BinaryIO | HashingWriter]:
    """A writer that compresses into ``out`` (``out`` itself when uncompressed)."""
    compression = options.compression
    level = compression.default_level if options.level is None else options.level
    if compression is Compression.NONE:
        yield out
    elif compression is Compression.GZIP:
        with _igzip_open(out, "wb", compresslevel=level, threads=_threads(options.threads)) as gz:
            yield gz
    else:
        import zstandard

        compressor = zstandard.ZstdCompressor(level=level, threads=_threads(options.threads))
        with compressor.stream_writer(cast(BinaryIO, out), closefd=False) as zw:
            yield zw


def sniff(head: bytes) -> Compression:
    """The compression of a blob from its first bytes (media types lie more often than magic)."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


@contextlib.contextmanager
def open_uncompressed(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A reader of the tar inside the blob at ``path``, whatever its compression."""
    with open(path, "rb") as raw:
        kind = sniff(raw.read(4))
        raw.seek(0)
        if kind is Compression.GZIP:
            with _igzip_open(raw, "rb", threads=1) as gz:
                yield gz
        elif kind is Compression.ZSTD:
            import zstandard

            with zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as zr:
                yield zr
        else:
            yield raw

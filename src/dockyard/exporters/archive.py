"""A deterministic tar writer for archives of files we name ourselves (OCI and docker archives).

Two exports of one image must give the same bytes, so nothing of the host leaks in: entries
come in the order the caller gives (callers sort), owners are 0:0, modes fixed (0644 files,
0755 directories), and every mtime is the same fixed value. Headers come from
:func:`dockyard.oci.tarfs.encode_header`, which layers use too, so long names and big sizes
get the same PAX treatment everywhere.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from dockyard.digest import CHUNK
from dockyard.errors import StoreError
from dockyard.oci.tarfs import BLOCK, DIR, REG, TarEntry, encode_header, padding

FIXED_MTIME = 0


class _Reader(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class TarWriter:
    """Appends entries to ``sink``; :meth:`close` writes the end-of-archive blocks."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink

    def add_dir(self, name: str) -> None:
        entry = TarEntry(name=name.rstrip("/").encode() + b"/", kind=DIR, mode=0o755, mtime=FIXED_MTIME)
        self._sink.write(encode_header(entry))

    def add_bytes(self, name: str, data: bytes) -> None:
        self._sink.write(encode_header(TarEntry(name=name.encode(), kind=REG, mode=0o644, size=len(data),
                                                mtime=FIXED_MTIME)))
        self._sink.write(data)
        self._sink.write(padding(len(data)))

    def add_stream(self, name: str, size: int, reader: _Reader) -> None:
        """``size`` bytes from ``reader``; a short or long stream is an error (the header said ``size``)."""
        self._sink.write(encode_header(TarEntry(name=name.encode(), kind=REG, mode=0o644, size=size,
                                                mtime=FIXED_MTIME)))
        copied = 0
        while copied < size:
            chunk = reader.read(min(CHUNK, size - copied))
            if not chunk:
                break
            self._sink.write(chunk)
            copied += len(chunk)
        if copied != size or reader.read(1):
            raise StoreError(f"{name}: expected {size} bytes, the source holds a different amount",
                             hint="the content store changed underneath; retry the export")
        self._sink.write(padding(size))

    def close(self) -> None:
        self._sink.write(b"\0" * (2 * BLOCK))

"""The content store: blobs kept by digest under ``ROOT/blobs/sha256/HEX``, written atomically.

This is the one place bytes land on disk by digest: pulled manifests, configs and layers,
and the layers and documents the build engine makes. The directory shape is the OCI image
layout's, so an OCI layout directory is a content store too (:mod:`dockyard.store.layout`).

Why it is safe for concurrent processes: a blob is written to a temporary file in the same
directory, hashed while written, fsynced, and renamed onto its digest only when the digest
checks; the rename is atomic, so a reader sees either no file or the whole verified blob,
and two writers of the same blob both write identical bytes.

API (small on purpose)::

    store = ContentStore.default()            # DATA_ROOT/content
    blob = store.ingest(stream, expected=d)   # -> Blob(digest, size); verified
    with store.writer() as w: w.write(...)    # streaming producers (tar | gzip -> store)
    w = store.open_writer(); ...; w.commit()  # the same, driven by hand (resumable downloads)
    store.has(d); store.size(d); store.path(d); store.open(d); store.read_bytes(d)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from dockyard import cancel
from dockyard.digest import CHUNK, Digest, HashingWriter, verify
from dockyard.errors import StoreError
from dockyard.paths import data_root
from dockyard.store.owner import stamp


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Blob:
    """What ingesting gave: the verified digest and the byte count."""

    digest: Digest
    size: int


class BlobWriter:
    """An open ingest: ``write`` bytes, then ``commit`` (or let ``ContentStore.writer`` do it)."""

    def __init__(self, store: ContentStore, expected: Digest | None, expected_size: int | None) -> None:
        self._store = store
        self._expected = expected
        self._expected_size = expected_size
        directory = store.root / "blobs" / "sha256"
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=stamp(".ingest-"), dir=directory)
        self._tmp = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._hashing = HashingWriter(self._file)
        self.committed: Blob | None = None

    def write(self, data: bytes) -> int:
        return self._hashing.write(data)

    @property
    def written(self) -> int:
        """Bytes written so far (a download resumes from here)."""
        return self._hashing.size

    def flush(self) -> None:
        self._hashing.flush()

    def commit(self) -> Blob:
        """Verify, fsync and rename onto the digest; the blob is visible from here on."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest, size = self._hashing.digest(), self._hashing.size
        try:
            if self._expected is not None:
                verify(self._expected, digest, what=f"blob {self._expected}")
            if self._expected_size is not None and size != self._expected_size:
                raise StoreError(f"blob {digest} is {size} bytes, expected {self._expected_size}",
                                 hint="the content was truncated in transit; retry")
            os.replace(self._tmp, self._store.path(digest))
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        self.committed = Blob(digest, size)
        return self.committed

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class ContentStore:
    """Blobs by digest under ``root/blobs/<algorithm>/<hex>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> ContentStore:
        """The store every dockyard command shares: ``DATA_ROOT/content``."""
        return cls(data_root() / "content")

    def path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.hex

    def has(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: Digest) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise self._missing(digest) from None

    def open(self, digest: Digest) -> BinaryIO:
        """A binary, seekable file for the blob (close it, or use ``with``)."""
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise self._missing(digest) from None

    def read_bytes(self, digest: Digest) -> bytes:
        """A small blob (manifest, config) in memory."""
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise self._missing(digest) from None

    def open_writer(self, *, expected: Digest | None = None, size: int | None = None) -> BlobWriter:
        """An ingest the caller drives: ``write`` ..., then ``commit()`` or ``abort()``."""
        return BlobWriter(self, expected, size)

    @contextlib.contextmanager
    def writer(self, *, expected: Digest | None = None, size: int | None = None) -> Iterator[BlobWriter]:
        """Stream a blob in; committed when the block ends normally, discarded on an exception."""
        w = BlobWriter(self, expected, size)
        try:
            yield w
        except BaseException:
            w.abort()
            raise
        if w.committed is None:
            w.commit()

    def ingest(self, stream: Readable, *, expected: Digest | None = None, size: int | None = None) -> Blob:
        """Copy ``stream`` in; with ``expected``, an existing blob is reused without reading."""
        if expected is not None and self.has(expected):
            return Blob(expected, self.size(expected))
        with self.writer(expected=expected, size=size) as w:
            while chunk := stream.read(CHUNK):
                cancel.check()
                w.write(chunk)
        assert w.committed is not None
        return w.committed

    def ingest_bytes(self, data: bytes, *, expected: Digest | None = None) -> Blob:
        digest = Digest.of_bytes(data)
        if expected is not None:
            verify(expected, digest, what=f"blob {expected}")
        if not self.has(digest):
            with self.writer(expected=digest, size=len(data)) as w:
                w.write(data)
        return Blob(digest, len(data))

    def _missing(self, digest: Digest) -> StoreError:
        return StoreError(f"blob {digest} is not in the content store at {self.root}",
                          hint="pull the image again")

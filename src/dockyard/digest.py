"""Content digests and the stream wrappers that compute them while data flows.

Blobs are never buffered to be hashed: a reader or writer is wrapped, the digest is
known when the stream ends, and a mismatch is an error at that moment. This keeps
memory flat whatever the blob size (the design's "streams, not buffers" rule).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.errors import DockyardError, UsageError

_DIGEST_RE = re.compile(r"^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$")
CHUNK = 1 << 20


@dataclass(frozen=True, order=True)
class Digest:
    """A validated ``algorithm:hex`` content digest."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        m = _DIGEST_RE.match(text)
        if not m:
            raise UsageError(f"invalid digest {text!r}", hint="expected sha256: followed by 64 hex digits")
        algo = m.group(1) or m.group(3)
        hexpart = m.group(2) or m.group(4)
        return cls(algo, hexpart)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls("sha256", hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """The first 12 hex digits, as tools show image IDs."""
        return self.hex[:12]


class DigestMismatchError(DockyardError):
    """Content read does not hash to the digest it was announced with."""


class HashingReader:
    """Wraps a binary reader; counts and hashes every byte read through it."""

    def __init__(self, raw: BinaryIO, algorithm: str = "sha256") -> None:
        self._raw = raw
        self._hash = hashlib.new(algorithm)
        self._algorithm = algorithm
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Read (and hash) whatever the consumer left, e.g. a tar's zero padding."""
        while self.read(CHUNK):
            pass

    def digest(self) -> Digest:
        return Digest(self._algorithm, self._hash.hexdigest())


class HashingWriter:
    """Wraps a binary writer; counts and hashes every byte written through it."""

    def __init__(self, raw: BinaryIO, algorithm: str = "sha256") -> None:
        self._raw = raw
        self._hash = hashlib.new(algorithm)
        self._algorithm = algorithm
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        return self._raw.write(data)

    def flush(self) -> None:
        self._raw.flush()

    def digest(self) -> Digest:
        return Digest(self._algorithm, self._hash.hexdigest())


def verify(expected: Digest, actual: Digest, *, what: str) -> None:
    """Raise when ``actual`` differs from ``expected``; ``what`` names the content."""
    if expected != actual:
        raise DigestMismatchError(
            f"digest mismatch for {what}: expected {expected}, got {actual}",
            hint="the content was corrupted in transit or at rest; retry, or prune the local store",
        )

"""The wire format: a 4-byte big-endian length, then one JSON object; ``blob`` frames carry raw bytes.

A frame ``{"type": "blob", "digest": ..., "size": N}`` is followed by N raw bytes sent in
chunks of at most :data:`CHUNK` (each chunk is its own length-prefixed frame of type
``chunk`` with no JSON body), so a big blob never blocks progress or a cancel for long and
memory stays flat. Everything a peer can send is checked here: a short read, a frame larger
than :data:`MAX_FRAME`, or bytes that are not a JSON object is a one-line NodeError.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from dockyard.errors import NodeError

PROTOCOL = 1
CHUNK = 1 << 20
MAX_FRAME = 16 << 20  # a JSON frame (manifests of big contexts included) never needs more
_HEADER = struct.Struct(">I")

Message = dict[str, Any]


class Channel:
    """One end of a session: frames written under a lock (progress events come from several threads),
    read by one reader. ``sent_bytes``/``received_bytes`` count everything on the wire (the build
    reports the bytes a context sync sent)."""

    def __init__(self, reader: BinaryIO, writer: BinaryIO, *, peer: str) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()
        self.peer = peer
        self.sent_bytes = 0
        self.received_bytes = 0

    # -- writing ---------------------------------------------------------------------------
    def send(self, message: Message) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        with self._lock:
            self._write(data)

    def send_blob(self, digest: str, size: int, stream: BinaryIO) -> None:
        """Announce and send one blob; ``stream`` must yield exactly ``size`` bytes."""
        header = json.dumps({"type": "blob", "digest": digest, "size": size}, separators=(",", ":")).encode()
        with self._lock:
            self._write(header)
            left = size
            while left:
                chunk = stream.read(min(CHUNK, left))
                if not chunk:
                    raise NodeError(f"{self.peer}: blob {digest} ended {left} bytes early while sending")
                self._write(chunk)
                left -= len(chunk)

    def _write(self, data: bytes) -> None:
        try:
            self._writer.write(_HEADER.pack(len(data)) + data)
            self._writer.flush()
        except (BrokenPipeError, ConnectionError, ValueError, OSError) as exc:
            raise NodeError(f"{self.peer}: connection lost while sending ({type(exc).__name__})") from None
        self.sent_bytes += _HEADER.size + len(data)

    # -- reading ---------------------------------------------------------------------------
    def receive(self) -> Message | None:
        """The next JSON frame, or None when the peer closed the stream cleanly between frames."""
        data = self._frame(eof_ok=True)
        if data is None:
            return None
        try:
            message = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise NodeError(f"{self.peer}: malformed frame ({exc.__class__.__name__}: {str(exc)[:80]})") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise NodeError(f"{self.peer}: malformed frame (not an object with a 'type')")
        return message

    def blob_chunks(self, message: Message) -> Iterator[bytes]:
        """The raw bytes following a ``blob`` frame, chunk by chunk; the digest is checked at the end."""
        size = int(message["size"])
        digest = str(message["digest"])
        hasher = hashlib.sha256()
        left = size
        while left:
            chunk = self._frame(eof_ok=False)
            assert chunk is not None
            if len(chunk) > left:
                raise NodeError(f"{self.peer}: blob {digest} is longer than announced")
            hasher.update(chunk)
            left -= len(chunk)
            yield chunk
        if f"sha256:{hasher.hexdigest()}" != digest:
            raise NodeError(f"{self.peer}: blob {digest} arrived with other content")

    def _frame(self, *, eof_ok: bool) -> bytes | None:
        header = self._read(_HEADER.size, eof_ok=eof_ok)
        if header is None:
            return None
        (length,) = _HEADER.unpack(header)
        if length > MAX_FRAME:
            raise NodeError(f"{self.peer}: malformed frame (length {length} exceeds {MAX_FRAME})")
        data = self._read(length, eof_ok=False)
        assert data is not None
        return data

    def _read(self, n: int, *, eof_ok: bool) -> bytes | None:
        parts: list[bytes] = []
        got = 0
        while got < n:
            try:
                part = self._reader.read(n - got)
            except (ConnectionError, OSError, ValueError) as exc:
                raise NodeError(f"{self.peer}: connection lost ({type(exc).__name__})") from None
            if not part:
                if got == 0 and eof_ok:
                    return None
                raise NodeError(f"{self.peer}: connection closed in the middle of a frame")
            parts.append(part)
            got += len(part)
        self.received_bytes += n
        return b"".join(parts)

    def close(self) -> None:
        for stream in (self._writer, self._reader):
            with contextlib.suppress(OSError):
                stream.close()

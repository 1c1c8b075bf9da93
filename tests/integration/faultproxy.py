"""A fault-injecting HTTP proxy on 127.0.0.1, between dockyard and a real registry.

It forwards one request per connection (it adds ``Connection: close``) and, when a rule
matches, answers 503 or 429 itself, resets the connection halfway through a request body
(after passing the first half to the registry), or forwards the request and then stalls
without answering. Rules fire a fixed number of times, or forever (``times=None``).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Rule:
    """Inject ``action`` on requests whose method is ``method`` and path contains ``path``.

    ``skip`` matching requests pass untouched first; then the rule fires ``times`` times (None: forever).
    """

    method: str
    path: str
    action: str  # "503" | "429" | "reset" | "stall" | "cut" (relay part of the response, then reset)
    times: int | None = 1
    skip: int = 0
    min_length: int = 0  # only requests with at least this many body bytes
    fired: int = 0
    seen: int = field(default=0, repr=False)

    def take(self, method: str, path: str, length: int) -> bool:
        if method != self.method or self.path not in path or length < self.min_length:
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


class FaultProxy:
    """``FaultProxy(upstream_port).start()``; ``.address`` is what the client talks to."""

    def __init__(self, upstream_port: int, *, stall_seconds: float = 4.0, cut_bytes: int = 300_000) -> None:
        self.upstream_port = upstream_port
        self.stall_seconds = stall_seconds
        self.cut_bytes = cut_bytes
        self.rules: list[Rule] = []
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._stop = threading.Event()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._sock.getsockname()[1]}"

    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _rule_for(self, method: str, path: str, length: int) -> str | None:
        with self._lock:
            self.requests.append(f"{time.monotonic():.2f} {method} {path}")

            for rule in self.rules:
                if rule.take(method, path, length):
                    self.requests.append(f"  !! {rule.action}")
                    return rule.action
        return None

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.closing(conn):
            head = _read_head(conn)
            if head is None:
                return
            lines = head.split(b"\r\n")
            try:
                method, path, _version = lines[0].decode("latin-1").split(" ", 2)
            except ValueError:
                return  # not HTTP (e.g. a TLS hello): drop it
            headers = [h for h in lines[1:] if h and not h.lower().startswith(b"connection:")]
            length = 0
            for h in headers:
                name, _, value = h.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                if name.strip().lower() == b"transfer-encoding":
                    raise AssertionError("the proxy expects Content-Length bodies")
            ranged = any(h.lower().startswith(b"range:") for h in headers)
            action = self._rule_for(method, path + (" [range]" if ranged else ""), length)
            if action in ("503", "429"):
                _read_exact(conn, length)
                extra = "Retry-After: 1\r\n" if action == "429" else ""
                reason = "Too Many Requests" if action == "429" else "Service Unavailable"
                conn.sendall(f"HTTP/1.1 {action} {reason}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
                             .encode())
                return
            request_head = b"\r\n".join([lines[0], *headers, b"Connection: close", b"", b""])
            with socket.create_connection(("127.0.0.1", self.upstream_port)) as up:
                up.sendall(request_head)
                if action == "reset":
                    half = _read_exact(conn, length // 2)
                    up.sendall(half)
                    time.sleep(0.2)
                    up.shutdown(socket.SHUT_RDWR)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return  # closing with linger 0 sends RST to the client
                _pipe(conn, up, length)
                if action == "stall":
                    _drain(up)
                    time.sleep(self.stall_seconds)
                    return
                first = True
                relayed = 0
                while data := up.recv(1 << 16):
                    if action == "cut" and relayed + len(data) > self.cut_bytes:
                        conn.sendall(data[: self.cut_bytes - relayed])
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        return
                    relayed += len(data)
                    if first:
                        rng = [h for h in data.split(b"\r\n") if h.lower().startswith(b"range:")]
                        self.requests.append(f"  -> {data.split(b' ', 2)[1].decode()} {b''.join(rng).decode()}")
                        first = False
                    conn.sendall(data)


def _read_head(conn: socket.socket) -> bytes | None:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(1)
        if not data or (not buf and data == b"\x16"):  # EOF, or a TLS ClientHello: plain HTTP only here
            return None
        buf += data
        if len(buf) > 65536:
            return None
    return buf[:-4]


def _read_exact(conn: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        data = conn.recv(min(1 << 16, n - len(out)))
        if not data:
            break
        out += data
    return bytes(out)


def _pipe(src: socket.socket, dst: socket.socket, n: int) -> None:
    left = n
    while left > 0:
        data = src.recv(min(1 << 16, left))
        if not data:
            return
        dst.sendall(data)
        left -= len(data)


def _drain(up: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while up.recv(1 << 16):
            pass

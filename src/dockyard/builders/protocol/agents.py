"""``--ssh`` on a remote node: the client's SSH agent, forwarded over the session's frames.

As BuildKit does it (session/sshforward/ssh.go, ``MountSSHSocket``: a listening socket on the
worker, each connection a ``ForwardAgent`` stream to the client), the node listens on a unix
socket per forwarded id, in a private tmpfs directory (mode 0700; the socket 0600, owned by
root) that lives as long as the solve; a RUN step reaches it as it would a local agent, through
its own socket with the mount's owner and mode (:mod:`dockyard.engine.agentsocket`). Each
connection becomes frames: ``agent-open {conn, id}`` (node -> client), then
``agent-data {conn, data}`` both ways (base64), and ``agent-close {conn}`` from whichever side
ends first. The client connects each one to its own agent socket for that id; keys never leave
the client's agent, only the agent protocol's requests and answers cross the session.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from dockyard.builders.protocol.frames import Channel, Message
from dockyard.engine.agentsocket import bind_unix
from dockyard.errors import NodeError
from dockyard.store.tmpfs import private_tmpfs

KINDS = frozenset({"agent-open", "agent-data", "agent-close"})
_CHUNK = 64 << 10


class _Relay:
    """Connections by number; each one's socket is pumped into frames by its own thread."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.lock = threading.Lock()
        self.conns: dict[int, socket.socket] = {}

    def pump(self, conn: int, sock: socket.socket) -> None:
        """Send what ``sock`` says as ``agent-data`` until it ends, then ``agent-close``."""
        with contextlib.suppress(OSError, NodeError):
            while data := sock.recv(_CHUNK):
                self.channel.send({"type": "agent-data", "conn": conn, "data": base64.b64encode(data).decode()})
        self._drop(conn)
        with contextlib.suppress(NodeError):
            self.channel.send({"type": "agent-close", "conn": conn})

    def handle(self, message: Message) -> None:
        """``agent-data`` or ``agent-close`` from the other side."""
        conn = int(message.get("conn", -1))
        with self.lock:
            sock = self.conns.get(conn)
        if sock is None:
            return
        if message["type"] == "agent-close":
            self._drop(conn)
            return
        try:
            sock.sendall(base64.b64decode(str(message.get("data", "")), validate=True))
        except (OSError, ValueError):
            self._drop(conn)

    def _drop(self, conn: int) -> None:
        with self.lock:
            sock = self.conns.pop(conn, None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            self._drop(conn)


class NodeAgents(_Relay):
    """The node's end: a listening socket per forwarded id while a solve runs."""

    def __init__(self, channel: Channel) -> None:
        super().__init__(channel)
        self.numbers = itertools.count(1)

    @contextlib.contextmanager
    def listening(self, ids: Sequence[str], *, run_dir: Path) -> Iterator[dict[str, str]]:
        """Each id's socket path (what a step mounts); all are gone when the block ends."""
        if not ids:
            yield {}
            return
        with private_tmpfs(run_dir, "ssh") as holder:
            listeners: list[socket.socket] = []
            try:
                paths = {}
                for i, ident in enumerate(ids):
                    path = holder / f"agent-{i}.sock"
                    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    listeners.append(listener)
                    bind_unix(listener, path)
                    os.chmod(path, 0o600)
                    listener.listen(8)
                    threading.Thread(target=self._accept, args=(listener, ident), daemon=True,
                                     name=f"dockyard-agent-{ident}").start()
                    paths[ident] = str(path)
                yield paths
            finally:
                for listener in listeners:
                    with contextlib.suppress(OSError):
                        listener.shutdown(socket.SHUT_RDWR)
                    listener.close()
                self.close()

    def _accept(self, listener: socket.socket, ident: str) -> None:
        while True:
            try:
                sock, _addr = listener.accept()
            except OSError:
                return
            conn = next(self.numbers)
            with self.lock:
                self.conns[conn] = sock
            try:
                self.channel.send({"type": "agent-open", "conn": conn, "id": ident})
            except NodeError:
                self._drop(conn)
                return
            threading.Thread(target=self.pump, args=(conn, sock), daemon=True).start()


class ClientAgents(_Relay):
    """The client's end: each ``agent-open`` connected to this machine's agent socket for its id."""

    def __init__(self, channel: Channel, sockets: Mapping[str, str]) -> None:
        super().__init__(channel)
        self.sockets = dict(sockets)

    def handle(self, message: Message) -> None:
        if message["type"] != "agent-open":
            super().handle(message)
            return
        conn = int(message.get("conn", -1))
        path = self.sockets.get(str(message.get("id", "")))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if path is None:  # an id this build did not forward: the node asked for what it was not given
                raise OSError("not forwarded")
            sock.connect(path)
        except OSError:
            sock.close()
            with contextlib.suppress(NodeError):
                self.channel.send({"type": "agent-close", "conn": conn})
            return
        with self.lock:
            self.conns[conn] = sock
        threading.Thread(target=self.pump, args=(conn, sock), daemon=True, name="dockyard-agent").start()


__all__ = ["KINDS", "ClientAgents", "NodeAgents"]

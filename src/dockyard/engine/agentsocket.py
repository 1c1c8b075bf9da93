"""A RUN step's own ssh-agent socket: ``--mount=type=ssh,uid=,gid=,mode=`` as BuildKit makes it.

BuildKit never hands a step the agent's own socket (session/sshforward/ssh.go, ``MountSSHSocket``):
for each mount it listens on a new socket in a fresh directory (0711), chowns it to the mount's
uid/gid and chmods it to its mode (0600, root by default, from dockerfile2llb's runmount), and relays
every connection to the agent. Binding the agent's socket itself would leave uid/gid/mode without
effect (a step running as a non-root USER could not reach the agent) and would show the step the
host socket's own owner and mode. The relay is a thread per direction per connection; it lives as
long as the step.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from dockyard.store.owner import stamp

_CHUNK = 64 << 10


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """A socket address for ``path`` even when it is longer than one may be (108 bytes; a store under a
    deep directory easily is): the name under the directory's ``/proc/self/fd`` entry."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def bind_unix(listener: socket.socket, path: Path) -> None:
    """Bind ``listener`` to ``path``, however long."""
    with _address(path) as address:
        listener.bind(address)


def connect_unix(sock: socket.socket, path: Path) -> None:
    """Connect ``sock`` to the socket at ``path``, however long."""
    with _address(path) as address:
        sock.connect(address)


class AgentSocket:
    """A listening socket owned by ``uid``:``gid`` with ``mode`` that relays to the agent at ``upstream``.

    ``path`` is what the step mounts; :meth:`close` stops listening, ends open connections and
    removes the directory.
    """

    def __init__(self, upstream: str, *, uid: int, gid: int, mode: int) -> None:
        self.upstream = upstream
        self.directory = Path(tempfile.mkdtemp(prefix=stamp("dockyard-ssh-")))
        self.path = self.directory / "ssh_auth_sock"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.chmod(self.directory, 0o711)
            bind_unix(self._listener, self.path)
            os.chown(self.path, uid, gid)
            os.chmod(self.path, mode)
            self._listener.listen(8)
        except OSError:
            self.close()
            raise
        threading.Thread(target=self._accept, daemon=True, name="dockyard-ssh-mount").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connect_unix(agent, Path(self.upstream))
            except OSError:  # the agent went away: this connection fails, as the agent's would
                conn.close()
                agent.close()
                continue
            with self._lock:
                self._open += [conn, agent]
            threading.Thread(target=_pump, args=(conn, agent), daemon=True).start()
            threading.Thread(target=_pump, args=(agent, conn), daemon=True).start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy until ``source`` ends, then end ``sink``'s writing side (the agent protocol is request/answer)."""
    with contextlib.suppress(OSError):
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)

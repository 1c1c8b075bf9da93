"""engine/agentsocket.py: a step's ssh mount is its own socket (owner and mode of the mount) relaying
to the agent, as BuildKit's session/sshforward/ssh.go ``MountSSHSocket`` makes one per mount."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine.agentsocket import AgentSocket


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Path]:
    """A stand-in agent: answers each request with ``answer:`` + the request, then closes."""
    path = tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"answer:" + conn.recv(1024))

    threading.Thread(target=serve, daemon=True).start()
    yield path
    server.shutdown(socket.SHUT_RDWR)
    server.close()


def _ask(path: Path, request: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(path))
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        reply = b""
        while data := client.recv(1024):
            reply += data
        return reply


def test_the_mount_socket_has_the_mounts_owner_and_mode_and_relays_to_the_agent(agent: Path) -> None:
    relay = AgentSocket(str(agent), uid=1000, gid=1001, mode=0o640)
    try:
        info = os.stat(relay.path)
        assert stat.S_ISSOCK(info.st_mode)
        assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1000, 1001, 0o640)
        assert stat.S_IMODE(os.stat(relay.directory).st_mode) == 0o711
        assert _ask(relay.path, b"list keys") == b"answer:list keys"
        assert _ask(relay.path, b"again") == b"answer:again"  # each connection relayed on its own
    finally:
        relay.close()
    assert not relay.directory.exists()


def test_an_agent_that_is_gone_ends_the_connection_not_the_relay(agent: Path, tmp_path: Path) -> None:
    relay = AgentSocket(str(tmp_path / "no-agent.sock"), uid=0, gid=0, mode=0o600)
    try:
        for _ in range(2):  # the connection ends (closed or reset), the relay goes on listening
            with contextlib.suppress(ConnectionError):
                assert _ask(relay.path, b"hello") == b""
        assert relay.path.exists()
    finally:
        relay.close()

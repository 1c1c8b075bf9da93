"""SSH nodes: a machine reached with the system ``ssh`` client, running ``dockyard node serve --stdio``.

dockyard stores no keys and no remote paths: ssh's own configuration (``~/.ssh/config``,
agents, known_hosts) decides how to connect, in BatchMode so a missing key or an unknown host
key is an error, never a prompt. ``DOCKYARD_SSH_COMMAND`` replaces the ``ssh`` program and
its options (as GIT_SSH_COMMAND does for git), e.g. ``ssh -F /path/config``.

The record keeps what the node's last ``hello`` and ``booted`` replies said (platforms,
native or emulated, runtime, the node's dockyard version), so ``ls`` needs no connection.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dockyard import progress
from dockyard.builders.node import PlatformSupport
from dockyard.builders.records import BootRecord, NodeRecord
from dockyard.errors import NotBuiltError, UsageError
from dockyard.registry.keychain import Keychain

if TYPE_CHECKING:
    from dockyard.remote.session import Session

REMOTE_COMMAND = ("dockyard", "node", "serve", "--stdio")


@dataclass(frozen=True)
class SshEndpoint:
    user: str
    host: str
    port: int | None

    @classmethod
    def parse(cls, text: str) -> SshEndpoint:
        """``ssh://user@host[:port]``; user and host are required, a path is not allowed."""
        parts = urlsplit(text)
        if parts.scheme != "ssh":
            raise UsageError(f"invalid endpoint {text!r}", hint="use ssh://user@host[:port] (or omit it for local)")
        try:
            port = parts.port
        except ValueError:
            raise UsageError(f"invalid port in endpoint {text!r}") from None
        if not parts.username or not parts.hostname:
            raise UsageError(f"endpoint {text!r} needs a user and a host", hint="e.g. ssh://ci@10.0.0.5")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.password:
            raise UsageError(f"endpoint {text!r} may hold only user, host and port",
                             hint="keys and remote paths come from ~/.ssh/config, not the endpoint")
        return cls(parts.username, parts.hostname, port)

    def argv(self) -> list[str]:
        """The command that starts the node's server."""
        ssh = shlex.split(os.environ.get("DOCKYARD_SSH_COMMAND", "") or "ssh")
        port = ["-p", str(self.port)] if self.port else []
        return [*ssh, "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=2",
                *port, f"{self.user}@{self.host}", "--", *REMOTE_COMMAND]


@dataclass(frozen=True)
class SshNode:
    """A node reached over SSH; its store lives on the far machine."""

    record: NodeRecord
    builder: str

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def endpoint(self) -> str:
        return self.record.endpoint

    @property
    def remote(self) -> bool:
        return True

    def platforms(self) -> Sequence[PlatformSupport]:
        """What the last bootstrap found; before one, the configured platforms, assumed native."""
        if self.record.boot is not None:
            return self.record.boot.platforms
        return [PlatformSupport(p, detail="not bootstrapped") for p in self.record.platforms]

    def store_root(self) -> Path:
        raise NotBuiltError(f"node {self.name} is remote ({self.endpoint}): its store is on that machine",
                            hint=f"run 'ssh {self.endpoint.removeprefix('ssh://')} dockyard du' there")

    def status(self) -> str:
        if self.record.stopped:
            return "stopped"
        return "running" if self.record.boot is not None else "inactive"

    def open(self, *, listener: progress.Listener | None = None, keychain: Keychain | None = None) -> Session:
        """A new session with the node (ssh started, ``hello`` exchanged)."""
        from dockyard.remote.session import Session  # the protocol is loaded only when a node is used

        session = Session(SshEndpoint.parse(self.endpoint).argv(), node=self.name, builder=self.builder,
                          listener=listener, keychain=keychain)
        try:
            session.hello()
        except BaseException:
            session.close()
            raise
        return session

    def bootstrap(self) -> BootRecord:
        """Connect, check versions, and run the local bootstrap on the node for its platforms."""
        with self.open() as session:
            return session.bootstrap(self.record.platforms)

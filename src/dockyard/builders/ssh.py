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
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dockyard import progress
from dockyard.builders.records import BootRecord
from dockyard.builders.remotenode import RemoteNode
from dockyard.errors import UsageError

if TYPE_CHECKING:
    from dockyard.builders.protocol.session import Session

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
class SshNode(RemoteNode):
    """A node reached over SSH; its store lives on the far machine."""

    def open(self, *, listener: progress.Listener | None = None) -> Session:
        """A new session with the node (ssh started, ``hello`` exchanged)."""
        return self.session(SshEndpoint.parse(self.endpoint).argv(), listener=listener)

    def bootstrap(self) -> BootRecord:
        """Connect, check versions, and run the local bootstrap on the node for its platforms."""
        with self.open() as session:
            return session.bootstrap(self.record.platforms)

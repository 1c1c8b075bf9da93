"""What SSH and Kubernetes nodes share: a record, platforms from the last bootstrap, and sessions.

A remote node's store lives on the far side, so ``store_root`` is an error here; its status
and platforms come from the ``hello``/``booted`` replies kept in the record (before the first
bootstrap, the configured platforms are taken as native). A session is a process speaking the
node protocol on its stdio (``ssh ...``, the Kubernetes exec bridge), greeted with ``hello``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import progress
from dockyard.builders.node import PlatformSupport
from dockyard.builders.recorded import RecordedNode
from dockyard.errors import NotBuiltError

if TYPE_CHECKING:
    from dockyard.builders.protocol.session import Session


@dataclass(frozen=True)
class RemoteNode(RecordedNode):
    """Base of :class:`~dockyard.builders.ssh.SshNode` and :class:`~dockyard.builders.kube.KubeNode`."""

    builder: str

    def platforms(self) -> Sequence[PlatformSupport]:
        """What the last bootstrap found; before one, the configured platforms, assumed native."""
        if self.record.boot is not None:
            return self.record.boot.platforms
        return [PlatformSupport(p, detail="not bootstrapped") for p in self.record.platforms]

    def store_root(self) -> Path:
        raise NotBuiltError(f"node {self.name} is remote ({self.endpoint}): its store is on that side",
                            hint="manage it there (dockyard du / prune on that machine or in that pod)")

    def status(self) -> str:
        if self.record.stopped:
            return "stopped"
        return "running" if self.record.boot is not None else "inactive"

    def session(self, argv: Sequence[str], *, listener: progress.Listener | None) -> Session:
        """Start ``argv`` and greet the node; the session is closed again when ``hello`` fails."""
        from dockyard.builders.protocol.session import Session  # the protocol is loaded only when a node is used

        session = Session(argv, node=self.name, builder=self.builder, listener=listener)
        try:
            session.hello()
        except BaseException:
            session.close()
            raise
        return session

"""What every kind of node is made from: its record in the builder (name, endpoint, platforms, last boot).

:class:`~dockyard.builders.local.LocalNode` and :class:`~dockyard.builders.remotenode.RemoteNode`
(SSH, Kubernetes) extend it with where their store is (this machine's path, or the far side).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.builders.records import NodeRecord


@dataclass(frozen=True)
class RecordedNode:
    """A node known by its stored record: the name and endpoint local and remote nodes share."""

    record: NodeRecord

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def endpoint(self) -> str:
        return self.record.endpoint

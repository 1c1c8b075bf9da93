"""The protocol's typed payloads: the solve request (the node seam's portable form) and boot records.

A ``solve`` frame carries :meth:`dockyard.engine.solverequest.SolveRequest.portable`: the
platform's subgraph as a serialized :class:`~dockyard.graph.definition.Definition` (the canonical
bytes the cache keys hash, so the node computes the same keys as the client), the planned image
config, the base digests pinned by the client's plan, and the layer options; plus the builder's
registry settings and the repositories to push to (by digest). The context is not in it: it was
synced before (:mod:`.contextsync`) and the node points the request at its own copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.builders.records import boot_from_json, boot_to_json
from dockyard.engine.solverequest import SolveRequest
from dockyard.errors import NodeError
from dockyard.remote.frames import Message


def solve_to_json(request: SolveRequest, *, registries: dict[str, Any], push: tuple[str, ...]) -> Message:
    return {"type": "solve", "request": request.portable(), "registries": registries, "push": list(push)}


def solve_from_json(message: Message, *, context: Path) -> tuple[SolveRequest, tuple[str, ...]]:
    """The request (pointed at the node's copy of the context) and the repositories to push to."""
    try:
        request = SolveRequest.from_portable(message["request"], context=context)
        return request, tuple(str(p) for p in message.get("push", []))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NodeError(f"malformed solve request ({type(exc).__name__}: {exc})") from None


__all__ = ["boot_from_json", "boot_to_json", "solve_from_json", "solve_to_json"]

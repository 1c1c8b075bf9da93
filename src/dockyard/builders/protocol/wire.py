"""The protocol's typed payloads: the solve request (the node seam's portable form) and boot records.

A ``solve`` frame carries :meth:`dockyard.engine.solverequest.SolveRequest.portable`: the
platform's subgraph as a serialized :class:`~dockyard.graph.definition.Definition` (the canonical
bytes the cache keys hash, so the node computes the same keys as the client), the planned image
config, the base digests pinned by the client's plan, and the layer options; plus the builder's
registry settings and the repositories to push to (by digest). The context is not in it: it was
synced before (:mod:`.contextsync`) and the node points the request at its own copy.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

from dockyard.builders.protocol.frames import MAX_FRAME, Message
from dockyard.builders.records import boot_from_json, boot_to_json
from dockyard.engine.mounts import Secret
from dockyard.engine.solverequest import SolveRequest
from dockyard.errors import NodeError, UsageError
from dockyard.graph import ops
from dockyard.graph.definition import deserialize

MAX_SECRETS = MAX_FRAME // 4  # base64 and the rest of the frame must fit in one frame


def solve_to_json(request: SolveRequest, *, registries: dict[str, Any], push: tuple[str, ...]) -> Message:
    """The ``solve`` frame; the values of the secrets the platform's steps mount travel beside the request."""
    secrets, agents = mounted(request)
    return {"type": "solve", "request": request.portable(), "registries": registries, "push": list(push),
            "secrets": _secrets_json(request, secrets), "ssh": sorted(i for i in request.ssh if i in agents)}


def mounted(request: SolveRequest) -> tuple[set[str], set[str]]:
    """The secret ids and the ssh ids the RUN steps of the request's subgraph mount (the graph is
    read only when the build has secrets or agents to give)."""
    secrets: set[str] = set()
    agents: set[str] = set()
    if request.secrets or request.ssh:
        for op in deserialize(request.definition).by_key.values():
            if isinstance(op, ops.Exec):
                secrets.update(m.secret_id for m in op.mounts if m.type == "secret")
                agents.update(m.ssh_id or "default" for m in op.mounts if m.type == "ssh")
    return secrets, agents


def forwarded_agents(message: Message) -> tuple[str, ...]:
    """The ssh ids whose agent the client forwards for this solve (:mod:`.agents`)."""
    return tuple(str(i) for i in message.get("ssh", []))


def _secrets_json(request: SolveRequest, used: set[str]) -> list[dict[str, str]]:
    """Each ``--secret`` a RUN step of this subgraph mounts, with its value (read here, on the client):
    a node is sent no secret its platform does not use. The frame goes over the session's pipe
    only; the node keeps the values in memory (:class:`~dockyard.engine.mounts.Secret` ``data``)."""
    out = []
    total = 0
    for secret in request.secrets:
        if secret.id not in used:
            continue
        value = secret.value()
        total += len(value)
        if total > MAX_SECRETS:
            raise UsageError(f"secret {secret.id}: the build's secrets exceed {MAX_SECRETS >> 20} MiB, more than "
                             "is sent to a remote node", hint="mount a smaller secret, or build on a local node")
        out.append({"id": secret.id, "value": base64.b64encode(value).decode("ascii")})
    return out


def solve_from_json(message: Message, *, context: Path) -> tuple[SolveRequest, tuple[str, ...]]:
    """The request (pointed at the node's copy of the context, its secrets' values in memory) and the
    repositories to push to."""
    try:
        request = SolveRequest.from_portable(message["request"], context=context)
        secrets = tuple(Secret(id=str(s["id"]), data=base64.b64decode(str(s["value"]), validate=True))
                        for s in message.get("secrets", []))
        return dataclasses.replace(request, secrets=secrets), tuple(str(p) for p in message.get("push", []))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NodeError(f"malformed solve request ({type(exc).__name__}: {exc})") from None


__all__ = ["boot_from_json", "boot_to_json", "forwarded_agents", "mounted", "solve_from_json", "solve_to_json"]

"""The typed messages of the protocol that carry more than a few fields: the solve request and boot records.

The solve request carries the platform's build as the frontend states it (the Dockerfile text
and the build's options, ``graph.kind = "dockerfile"``); the node plans it with the same code
the client would run, so it computes the same cache keys. The serialized op graph of the
architecture work will become a second ``graph.kind`` (docs/remote-nodes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.builders.records import boot_from_json, boot_to_json
from dockyard.errors import NodeError
from dockyard.oci.layer import Compression
from dockyard.phases.request import BuildOptions
from dockyard.platform import Platform
from dockyard.remote.frames import Message

GRAPH_KIND = "dockerfile"


@dataclass(frozen=True, kw_only=True)
class SolveRequest:
    """One platform's build for a node; ``push`` names repositories (no tags) to push it to by digest."""

    platform: Platform
    dockerfile: str
    dockerfile_name: str  # the client's path, shown in messages (the node writes the text elsewhere)
    ignore: str | None  # the text of <Dockerfile>.dockerignore, when the client used one
    options: BuildOptions
    push: tuple[str, ...] = ()


def solve_to_json(request: SolveRequest, *, registries: dict[str, Any]) -> Message:
    o = request.options
    return {
        "type": "solve",
        "platform": str(request.platform),
        "push": list(request.push),
        "registries": registries,
        "graph": {
            "kind": GRAPH_KIND,
            "dockerfile": request.dockerfile,
            "dockerfile_name": request.dockerfile_name,
            "ignore": request.ignore,
            "build_args": dict(o.build_args),
            "target": o.target,
            "labels": dict(o.labels),
            "no_cache": o.no_cache,
            "no_cache_filter": list(o.no_cache_filter),
            "oci_mediatypes": o.oci_mediatypes,
            "compression": o.compression.value,
            "compression_level": o.compression_level,
            "source_date_epoch": o.source_date_epoch,
        },
        "jobs": o.jobs,
    }


def solve_from_json(message: Message) -> SolveRequest:
    graph = message.get("graph") or {}
    if graph.get("kind") != GRAPH_KIND:
        raise NodeError(f"unsupported graph kind {graph.get('kind')!r} (this node reads {GRAPH_KIND!r})")
    try:
        platform = Platform.parse(str(message["platform"]))
        options = BuildOptions(
            context=Path("."), platforms=(platform,), build_args=dict(graph["build_args"]),
            target=graph.get("target"), labels=dict(graph["labels"]), no_cache=bool(graph["no_cache"]),
            no_cache_filter=tuple(graph["no_cache_filter"]), jobs=message.get("jobs"),
            oci_mediatypes=bool(graph["oci_mediatypes"]), compression=Compression(graph["compression"]),
            compression_level=graph.get("compression_level"), source_date_epoch=graph.get("source_date_epoch"),
        )
        return SolveRequest(platform=platform, dockerfile=str(graph["dockerfile"]),
                            dockerfile_name=str(graph["dockerfile_name"]), ignore=graph.get("ignore"),
                            options=options, push=tuple(str(p) for p in message.get("push", [])))
    except (KeyError, TypeError, ValueError) as exc:
        raise NodeError(f"malformed solve request ({type(exc).__name__}: {exc})") from None


def basename(name: str) -> str:
    """The file name the node gives the Dockerfile (its directory is the node's own)."""
    base = Path(name).name
    if not base or base in (".", ".."):
        raise NodeError(f"invalid Dockerfile name {name!r}")
    return base


__all__ = ["SolveRequest", "basename", "boot_from_json", "boot_to_json", "solve_from_json", "solve_to_json"]

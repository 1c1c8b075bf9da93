"""Builders and their build caches as plain values: what ``dockyard.builders`` returns.

The library's :class:`~dockyard.builders.builder.Builder` carries live nodes, a config and its
store; a caller of the API (and ``ls``/``du`` printing) needs only what they show: names,
strings, numbers, datetimes and paths, frozen. This module holds those records and stays
import-light (no node, store or registry code) because ``dockyard.builders`` imports it first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.platform import Platform

if TYPE_CHECKING:
    from dockyard.builders.builder import AnyNode, Builder


@dataclass(frozen=True, kw_only=True)
class NodeInfo:
    """One node as ``dockyard ls``/``inspect`` show it. ``platforms`` in containerd's normal form
    (``linux/arm64``); ``configured`` are the ones ``--platform`` asked for; ``store`` is None for a
    remote node (its store is on the far side); ``version`` is None before the first bootstrap."""

    name: str
    endpoint: str
    status: str  # running, inactive or stopped
    platforms: tuple[str, ...]
    emulated: tuple[str, ...]
    verified: tuple[str, ...]
    configured: tuple[str, ...]
    version: str | None
    store: Path | None


@dataclass(frozen=True, kw_only=True)
class BuilderInfo:
    """A builder instance: its driver, nodes, placement policy, and whether it is the one in use."""

    name: str
    driver: str
    current: bool
    placement: str  # native-only, prefer-native or any
    last_activity: datetime | None
    config: Path | None  # the stored copy of ``--config``
    nodes: tuple[NodeInfo, ...]


@dataclass(frozen=True, kw_only=True)
class CacheUsage:
    """One build cache record's share of a store (``dockyard du --verbose``'s rows)."""

    id: str  # the record's key (``sha256:...``, or ``chain:...`` for a base image's layers)
    kind: str  # "build step" or "base layer"
    size: int  # bytes this record alone holds
    layers: int
    last_used: datetime


@dataclass(frozen=True, kw_only=True)
class DiskUsage:
    """A builder's build cache: every record (least recently used first) and the totals, in bytes."""

    builder: str
    records: tuple[CacheUsage, ...]
    reclaimable: int
    in_use: int  # temporaries of builds running now (or killed before they could clean up)
    total: int  # everything under the store, records or not


@dataclass(frozen=True, kw_only=True)
class Pruned:
    """What ``prune`` removed: cache records, leftovers of killed builds (and their containers), bytes."""

    builder: str
    records: int
    leftovers: int
    containers: int
    freed: int


def platform_label(platform: Platform) -> str:
    """The normal form (``linux/arm64`` also for a recorded arm64/v8), as buildx prints it."""
    return str(platform.normal())


def node_info(node: AnyNode) -> NodeInfo:
    """``node`` as plain values (nothing is contacted: status and platforms come from the record)."""
    from dockyard.builders.local import LocalNode

    label = platform_label
    supports = node.platforms()
    boot = node.record.boot
    return NodeInfo(
        name=node.name, endpoint=node.endpoint, status=node.status(),
        platforms=tuple(label(s.platform) for s in supports),
        emulated=tuple(label(s.platform) for s in supports if s.emulated),
        verified=tuple(label(s.platform) for s in supports if s.verified),
        configured=tuple(label(p) for p in node.record.platforms),
        version=f"dockyard {boot.version} ({boot.runtime})" if boot else None,
        store=node.store_root() if isinstance(node, LocalNode) else None)


def builder_info(builder: Builder, *, current: str) -> BuilderInfo:
    """``builder`` as plain values; ``current`` names the builder in use."""
    rec = builder.record
    return BuilderInfo(name=rec.name, driver=rec.driver, current=rec.name == current, placement=rec.placement,
                       last_activity=rec.last_used, config=builder.store.config_path(rec),
                       nodes=tuple(node_info(n) for n in builder.nodes()))

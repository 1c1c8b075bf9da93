"""A builder's build cache: ``du`` and ``prune`` (``docker buildx du``/``prune``) as library calls.

Both act on the store of the builder's first node on this machine (a remote node's store is on
its own side) and first reclaim the leftovers of builds that were killed (temporaries and their
runc containers), so neither reports nor keeps space nobody can use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from dockyard.builders.instances import current_builder
from dockyard.builders.store import BuilderStore
from dockyard.builders.summary import CacheUsage, DiskUsage, Pruned
from dockyard.errors import UsageError


@dataclass(frozen=True, kw_only=True)
class PruneRequest:
    """``dockyard prune``'s flags: ``all`` (base layers and cache mounts too), ``until`` (only records
    unused for that many seconds, ``--filter until=24h``), ``keep_storage`` (bytes to keep)."""

    builder: str | None = None
    all: bool = False
    until: float | None = None
    keep_storage: int | None = None


def parse_filters(filters: Iterable[str]) -> float | None:
    """``--filter`` values: buildx's ``until=DURATION`` (the last one wins), in seconds."""
    from dockyard.store.gc import parse_duration

    older = None
    for item in filters:
        key, _, value = item.partition("=")
        if key != "until" or not value:
            raise UsageError(f"invalid --filter {item!r}", hint="supported: until=DURATION, e.g. until=24h")
        older = parse_duration(value)
    return older


def disk_usage(builder: str | None = None, *, store: BuilderStore | None = None) -> DiskUsage:
    """Every cache record of ``builder``'s store (the one in use by default), least recently used first."""
    from dockyard.engine.leftovers import reclaim_leftovers
    from dockyard.store.gc import Store
    from dockyard.store.reclaim import in_use

    chosen = current_builder(builder, store=store)
    cache = Store(chosen.store_root())
    reclaim_leftovers(cache.root)
    usages = cache.usage()
    records = tuple(CacheUsage(id=u.record.key, kind=u.kind, size=u.size, layers=len(u.record.layers),
                               last_used=datetime.fromtimestamp(u.record.last_used, UTC)) for u in usages)
    return DiskUsage(builder=chosen.name, records=records, reclaimable=sum(u.size for u in usages),
                     in_use=in_use(cache.root), total=cache.total())


def prune_cache(request: PruneRequest, *, store: BuilderStore | None = None) -> Pruned:
    """Remove cache records least recently used first, as ``request`` limits it, and killed builds' leftovers."""
    from dockyard.engine.leftovers import reclaim_leftovers
    from dockyard.store.gc import Store

    chosen = current_builder(request.builder, store=store)
    cache = Store(chosen.store_root())
    left = reclaim_leftovers(cache.root)
    removed, freed = cache.prune(keep_storage=request.keep_storage, older_than=request.until,
                                 everything=request.all)
    return Pruned(builder=chosen.name, records=removed, leftovers=left.entries, containers=left.containers,
                  freed=freed + left.size)

"""Solve phase: run the keyed vertices into snapshots and layers, cache first, in one scheduler run.

All platforms' roots go to one solve, so a stage shared by platforms (same key) runs once.
The external cache (``--cache-from``) is loaded first so the worker can serve hits from it,
and ``--cache-to`` records are collected while the cache database is still open.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard import progress
from dockyard.engine import cacheexport, cacheimport
from dockyard.engine.bases import BaseImages
from dockyard.engine.cacheimport import ImportedCache
from dockyard.engine.cachemanifest import ChainRecord
from dockyard.engine.leftovers import reclaim_leftovers
from dockyard.engine.results import FsResult
from dockyard.engine.worker import Node, OpWorker, WorkerConfig
from dockyard.executor.runc import RuncExecutor
from dockyard.oci.layer import LayerOptions
from dockyard.phases.key import KeyedGraph
from dockyard.phases.request import BuildOptions
from dockyard.registry.client import Client
from dockyard.rootless.userns import require_user_namespace
from dockyard.solver import solve
from dockyard.store.cache import CacheDB
from dockyard.store.content import ContentStore
from dockyard.store.snapshots import Snapshotter


@dataclass(frozen=True)
class Solved:
    """The solve's outcome: each platform's final filesystem (plan order), and cache bookkeeping."""

    finals: tuple[FsResult, ...]
    records: tuple[ChainRecord, ...]  # for --cache-to (empty without it)
    imported: ImportedCache | None
    ran: int
    cached: int


def solve_graph(graph: KeyedGraph, roots: Sequence[Node | None], options: BuildOptions, *, root: Path,
                content: ContentStore, bases: BaseImages, client: Client, layer_options: LayerOptions,
                listener: progress.Listener | None = None) -> Solved:
    """Solve ``roots`` (None: a scratch platform) in the store at ``root``."""
    require_user_namespace()
    executor = RuncExecutor(state_dir=root / "run")
    reclaim_leftovers(root, executor=executor)
    snapshots = Snapshotter(root / "snapshots")
    cache = CacheDB(root / "cache.db")
    try:
        imported = cacheimport.load(options.cache_from, client=client, content=content, root=root,
                                    listener=listener) if options.cache_from else None
        worker = OpWorker(
            snapshots=snapshots, cache=cache, content=content,
            executor=executor, bases=bases,
            config=WorkerConfig(context_dir=options.context, secrets={s.id: s for s in options.secrets},
                                ssh=options.ssh, layer_options=layer_options,
                                no_cache=frozenset(graph.no_cache), root=root), imported=imported)
        outcome = solve([r for r in roots if r is not None], worker, jobs=options.jobs or os.cpu_count() or 1,
                        listener=listener)
        records = cacheexport.collect(graph.nodes.values(), outcome.results, cache=cache, content=content,
                                      imported=imported) if options.cache_to else ()
    finally:
        executor.close()
        cache.close()
        snapshots.close()
    finals: list[FsResult] = []
    for node in roots:
        result = outcome.results[node.key] if node is not None else FsResult(top=None)
        assert isinstance(result, FsResult)
        finals.append(result)
    return Solved(finals=tuple(finals), records=tuple(records), imported=imported, ran=len(outcome.ran),
                  cached=len(outcome.cached))

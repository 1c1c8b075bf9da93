"""Removing what killed builds left in a store: the store's temporaries and the runtime's containers.

The store finds a dead process's leftovers by the pid in their names
(:mod:`dockyard.store.reclaim`); a leftover bundle means the step's container may still be
running, which only the runtime can stop. This joins the two for the commands that open a
store: a build before it starts, ``prune`` and ``du``.
"""

from __future__ import annotations

from pathlib import Path

from dockyard.executor.runc import RuncExecutor
from dockyard.store.reclaim import Reclaimed, reclaim


def reclaim_leftovers(root: Path, *, executor: RuncExecutor | None = None) -> Reclaimed:
    """Kill dead builds' step containers and remove their temporaries from the store at ``root``."""
    runtime = executor or RuncExecutor(state_dir=root / "run")
    return reclaim(root, reap_containers=runtime.reap_stale)

"""Reclaiming what killed dockyard processes left behind in a store.

kill -9 (an OOM kill, a CI runner torn down) gives a build no chance to clean up: the step's
container keeps running, its bundle and secret tmpfs mounts stay mounted (with secret values
in them), half-written blobs and layer files stay in the content store, scratch directories
stay. Every such temporary is named with its maker's pid (:mod:`dockyard.store.owner`), so
the next dockyard command that opens the store (a build, ``prune``, ``du``) removes those
whose maker is gone, without waiting for other builds to finish: first the containers (they
keep the mounts busy), then mounts, then files. What a live process holds stays, and is
what :func:`in_use` counts.

Snapshots being written (``snapshots/tmp-*``) carry no pid; they are removed when the store's
lock can be had exclusively, that is when no other process uses the store
(:func:`dockyard.store.snapshots.remove_temporaries`).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.store.diskusage import tree_size
from dockyard.store.lock import FileLock
from dockyard.store.mount import unmount_all
from dockyard.store.owner import orphaned
from dockyard.store.snapshots import remove_temporaries
from dockyard.store.tmpfs import SHM

# (directory under the store root, name prefix) of every pid-stamped temporary
_PLACES = (
    ("run", "bundle-"),  # a step's config.json, on a tmpfs (executor/runc.py)
    ("run", "secrets-"),  # a step's secret files, on a tmpfs (engine/mounts.py)
    ("content/blobs/sha256", ".ingest-"),  # a blob being written (store/content.py)
    ("content/ingest", ".layer-"),  # a layer being made (oci/layer.py)
    ("cachemounts", "cachemount-"),  # a busy private cache mount's stand-in
    ("cachemounts", ".restore-"),  # a cache mount being restored from --cache-from
    (".", "scratch-"),  # an empty bind mount source
    ("tmp", ".dockyard-tar-"),  # the tar exporter's work directory
)
_SHM_PREFIXES = ("dockyard-bundle-", "dockyard-secrets-")  # the tmpfs fallback without mount rights


@dataclass(frozen=True)
class Reclaimed:
    """What one reclaim removed: containers killed, temporaries removed and their bytes."""

    containers: int = 0
    entries: int = 0
    size: int = 0


def temporaries(root: Path) -> Iterator[Path]:
    """Every pid-stamped temporary of the store at ``root`` (and of any store in /dev/shm)."""
    for where, prefix in _PLACES:
        directory = root / where
        with contextlib.suppress(OSError):
            for entry in directory.iterdir():
                if entry.name.startswith(prefix):
                    yield entry
    with contextlib.suppress(OSError):
        for entry in SHM.iterdir():
            if entry.name.startswith(_SHM_PREFIXES):
                yield entry


def reclaim(root: Path, *, reap_containers: Callable[[], Sequence[str]] | None = None) -> Reclaimed:
    """Remove the temporaries of dead processes; ``reap_containers`` kills their step containers.

    Containers are looked for only when a dead process's bundle is found: a step's container
    never outlives its bundle, so a store without stale bundles has no stale containers.
    """
    stale = [path for path in temporaries(root) if orphaned(path.name)]
    containers = 0
    if reap_containers is not None and any("bundle-" in path.name for path in stale):
        containers = len(reap_containers())
    size = 0
    for path in stale:
        size += tree_size(path)
        remove(path)
    snapshots = root / "snapshots"
    if snapshots.is_dir():
        lock = FileLock(snapshots / ".lock")
        if lock.acquire(exclusive=True, blocking=False):  # no other process uses the store
            try:
                doomed = [entry for entry in snapshots.iterdir() if entry.name.startswith("tmp-")]
                size += sum(tree_size(entry) for entry in doomed)
                remove_temporaries(snapshots)
                stale += doomed
            finally:
                lock.release()
    return Reclaimed(containers=containers, entries=len(stale), size=size)


def remove(path: Path) -> None:
    """Unmount whatever is mounted at or under ``path``, then delete it."""
    unmount_all(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def in_use(root: Path) -> int:
    """Bytes held by temporaries that are not reclaimable now: live builds' and unstamped ones'."""
    total = sum(tree_size(path) for path in temporaries(root) if path.parent != SHM)
    snapshots = root / "snapshots"
    with contextlib.suppress(OSError):
        total += sum(tree_size(entry) for entry in snapshots.iterdir() if entry.name.startswith("tmp-"))
    return total

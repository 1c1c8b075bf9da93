"""Base image layers as snapshots, unpacked once per layer chain.

An image's layer N means nothing without layers 0..N-1 under it, so an unpacked layer is
found again by its *chain ID* (OCI image spec: the diff_id of the first layer, then
``sha256(parent_chain_id + " " + diff_id)``). Two images sharing their first layers
share those snapshots. The chain ID -> snapshot mapping is a cache record keyed
``chain:<chain id>``, so prune and du see base layers like any other step result.

Each layer is applied into a fresh upperdir in overlay format (whiteouts become overlay
markers), its diff_id is checked while reading, and only a verified layer is committed.
A per-chain file lock keeps two processes from unpacking the same layer at once: the
second waits, then finds the first one's snapshot.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from dockyard.digest import Digest, verify
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.store.cache import CacheDB, LayerRecord
from dockyard.store.lock import FileLock
from dockyard.store.snapshots import Snapshot, Snapshotter


def chain_ids(diff_ids: Sequence[Digest]) -> list[Digest]:
    """The chain ID of each layer of a stack (bottom first)."""
    chains: list[Digest] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            text = f"{chains[-1]} {diff_id}".encode()
            chains.append(Digest("sha256", hashlib.sha256(text).hexdigest()))
    return chains


def unpack_layers(snaps: Snapshotter, cache: CacheDB,
                  layers: Sequence[tuple[str | os.PathLike[str], LayerRecord]]) -> Snapshot | None:
    """The snapshot of the whole stack ``layers`` (blob path, its record), bottom first.

    Layers already unpacked (by this or another process) are reused; None for no layers.
    """
    locks = snaps.root / ".chain-locks"
    locks.mkdir(exist_ok=True)
    chains = chain_ids([r.diff_id for _, r in layers])
    # start above the longest prefix already unpacked (a step's own snapshot may be recorded
    # for its chain without the prefixes below it: see record_chain)
    start, parent = 0, None
    for depth in range(len(chains), 0, -1):
        parent = _existing(snaps, cache, f"chain:{chains[depth - 1]}")
        if parent is not None:
            start = depth
            break
    for (blob, record), chain in zip(layers[start:], chains[start:], strict=True):
        key = f"chain:{chain}"
        found = _existing(snaps, cache, key)
        if found is None:
            with FileLock(locks / chain.hex):
                found = _existing(snaps, cache, key)
                if found is None:
                    found = _unpack_one(snaps, Path(blob), record, parent)
                    cache.put(key, snapshot=found.id, layers=[record])
        parent = found
    return parent


def record_chain(cache: CacheDB, layers: Sequence[LayerRecord], snapshot: str) -> None:
    """Record ``snapshot`` (a step's committed stack) as the unpacked form of ``layers``, so that
    unpacking a longer chain on top of it (:func:`unpack_layers`) starts there."""
    if layers:
        cache.put(f"chain:{chain_ids([r.diff_id for r in layers])[-1]}", snapshot=snapshot, layers=[layers[-1]])


def _existing(snaps: Snapshotter, cache: CacheDB, key: str) -> Snapshot | None:
    record = cache.get(key)
    if record is None or record.snapshot is None or not snaps.exists(record.snapshot):
        return None
    return snaps.get(record.snapshot)


def _unpack_one(snaps: Snapshotter, blob: Path, record: LayerRecord, parent: Snapshot | None) -> Snapshot:
    with snaps.prepare(parent.id if parent else None) as active:
        applied = apply_layer(blob, active.upper, whiteouts=Whiteouts.OVERLAY)
        verify(record.diff_id, applied.diff_id, what=f"layer {record.digest} (uncompressed)")
        return active.commit()

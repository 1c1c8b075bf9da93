"""Disk usage and garbage collection of a build store: ``dockyard du`` and ``dockyard prune``.

What a record owns: its own snapshot (the diff of its step) and the blob of the layer made
from it. Shared history (the snapshots below, a base image's layers) belongs to the records
that made it. Pruning removes records least recently used first, then every snapshot that
no remaining record's chain reaches, then every blob that no remaining record lists; so a
snapshot is never removed while a kept one stacks on it.

Prune holds the store's lock exclusively: it waits for running builds (which hold it
shared) and no build starts while it runs, so nothing a build holds disappears under it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import UsageError
from dockyard.store.cache import CacheDB, CacheRecord
from dockyard.store.content import ContentStore
from dockyard.store.diskusage import recorded_sizes, store_size, tree_size
from dockyard.store.lock import FileLock
from dockyard.store.snapshots import COPY_LINEAGES, remove_temporaries

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_size(text: str) -> int:
    """``10GB``, ``512MiB``, ``1.5g``, ``1000`` (bytes), as buildx's ``--keep-storage`` takes them."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise UsageError(f"invalid size {text!r}", hint="e.g. 10GB, 512MiB or 1000000")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_duration(text: str) -> float:
    """``24h``, ``90m``, ``7d``, ``1h30m`` in seconds."""
    parts = re.findall(r"([0-9]+(?:\.[0-9]+)?)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise UsageError(f"invalid duration {text!r}", hint="e.g. 24h, 90m or 7d")
    return sum(float(n) * _DURATION[u] for n, u in parts)


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.3g}{unit}" if unit != "B" else f"{int(size)}B"
        size /= 1000
    return f"{size:.3g}TB"


@dataclass(frozen=True)
class Usage:
    """One record's share of the store."""

    record: CacheRecord
    size: int

    @property
    def kind(self) -> str:
        return "base layer" if self.record.key.startswith("chain:") else "build step"


class Store:
    """A build store root: content, snapshots and cache records together."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.content = ContentStore(root / "content")
        self._snapshots_dir = root / "snapshots"

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        self._snapshots_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self._snapshots_dir / ".lock")
        lock.acquire(exclusive=True)
        try:
            yield
        finally:
            lock.release()

    def usage(self) -> list[Usage]:
        """Every record with the size it owns, least recently used first.

        A snapshot or blob that several records list (a FROM step and the base image's chain
        record share one, so do identical steps of two builds) is counted once, for the most
        recently used of them, so the sizes add up to no more than the store holds.
        """
        db = CacheDB(self.root / "cache.db")
        try:
            records = db.records()
        finally:
            db.close()
        snapshots = recorded_sizes(self.root)
        counted: set[str] = set()
        out = []
        for record in reversed(records):
            size = 0
            if record.snapshot and record.snapshot not in counted:
                counted.add(record.snapshot)
                size += snapshots.get(f"snapshots/{record.snapshot}", 0)
            if record.layers and not record.key.startswith("chain:"):
                digest = record.layers[-1].digest
                if str(digest) not in counted:
                    counted.add(str(digest))
                    size += tree_size(self.content.path(digest))
            out.append(Usage(record, size))
        out.reverse()
        return out

    def total(self) -> int:
        return store_size(self.root)

    def prune(self, *, keep_storage: int | None = None, older_than: float | None = None,
              everything: bool = False) -> tuple[int, int]:
        """Drop records (LRU first) by the given limits; return (records removed, bytes freed)."""
        if not (self.root / "cache.db").exists():
            return 0, 0
        before = self.total()
        with self._exclusive():
            remove_temporaries(self._snapshots_dir)  # no build runs while the lock is held
            db = CacheDB(self.root / "cache.db")
            try:
                usages = self.usage()
                now = time.time()
                remaining = sum(u.size for u in usages)
                doomed: list[CacheRecord] = []
                for use in usages:
                    if keep_storage is not None and remaining <= keep_storage:
                        break
                    if older_than is not None and now - use.record.last_used < older_than:
                        continue
                    if not everything and use.record.key.startswith("chain:") and keep_storage is None:
                        continue  # base layers are kept unless --all or a size limit asks
                    doomed.append(use.record)
                    remaining -= use.size
                for record in doomed:
                    db.delete(record.key)
                kept = db.records()
            finally:
                db.close()
            self._collect(kept, everything=everything)
        return len(doomed), max(0, before - self.total())

    def _collect(self, kept: list[CacheRecord], *, everything: bool) -> None:
        # Read the snapshot tree directly: a Snapshotter would wait for the lock held here.
        def parent(ident: str) -> str | None:
            try:
                return (self._snapshots_dir / ident / "parent").read_text().strip() or None
            except OSError:
                return None

        live: set[str] = set()
        for record in kept:
            ident = record.snapshot
            while ident is not None and ident not in live and (self._snapshots_dir / ident).is_dir():
                live.add(ident)
                ident = parent(ident)
        for entry in self._snapshots_dir.iterdir():
            if not entry.name.startswith((".", "tmp-")) and entry.name not in live:
                doomed = entry.with_name(f"tmp-rm-{entry.name}")
                os.rename(entry, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
        self._forget_copies(live)
        blobs = {str(layer.digest) for record in kept for layer in record.layers}
        base = self.content.root / "blobs" / "sha256"
        if base.is_dir():
            for entry in base.iterdir():
                if entry.name.startswith("."):
                    continue  # a blob being written: the reclaim removes it once its writer is gone
                if f"sha256:{entry.name}" not in blobs and (everything or entry.stat().st_size > 4096):
                    entry.unlink(missing_ok=True)
        if everything:
            shutil.rmtree(self.root / "cachemounts", ignore_errors=True)

    def _forget_copies(self, live: set[str]) -> None:
        """Drop the lineages whose last copy was just pruned: nothing would ever look them up again
        (their base snapshot is gone too, or the next copy names itself)."""
        with contextlib.suppress(OSError), os.scandir(self._snapshots_dir / COPY_LINEAGES) as pointers:
            for pointer in pointers:
                with contextlib.suppress(OSError):
                    if Path(pointer.path).read_text() not in live:
                        os.unlink(pointer.path)


def content_bytes(root: Path) -> int:
    """The size of the content store's blobs: one directory listing, cheap enough for every build."""
    base = root / "content" / "blobs" / "sha256"
    total = 0
    if base.is_dir():
        with os.scandir(base) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def auto_collect(root: Path, *, limit: int | None, keep_duration: float | None = None) -> tuple[int, int]:
    """Automatic GC after a build: prune least recently used records when the store exceeds ``limit``.

    Snapshots are uncompressed and so take a few times the blobs' size: while four times the
    blob bytes stay under the limit, the store is certainly small enough and nothing is walked.
    """
    if limit is None or content_bytes(root) * 4 < limit:
        return 0, 0
    store = Store(root)
    if store.total() <= limit:
        return 0, 0
    return store.prune(keep_storage=limit, older_than=keep_duration)

"""Cache records: what a build step produced, found again by its cache key.

A record maps a cache key (a hash of the step's canonical bytes and inputs, made by
the graph) to the snapshot holding the step's result and the layer blobs made from it
(compressed digest, diff_id, size, media type). A build looks the key up before running
a step; a hit "touches" the record so that pruning can drop the least recently used.

Why SQLite: one small file, atomic transactions, and safe sharing between processes.
WAL mode lets readers proceed while one process writes; writers start with
``BEGIN IMMEDIATE`` so two writers queue on the database lock (``busy_timeout``) instead
of failing on a read-to-write upgrade. One connection per process, guarded by a
thread lock, serves the solver's worker threads.

A build's step records are written by a background thread (:meth:`CacheDB.put_later`): a
record is the last thing a step writes, and the next step in a chain waits for the step to
end, so its transaction (0.1-0.3 ms, more under load) is taken off that chain and written
while the next step runs. The build waits for them (:meth:`CacheDB.flush`) before it reads
records again or ends; a killed build loses the records still queued (those steps run
again next time), never half of one, and never one whose snapshot and blobs are not complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.paths import data_root

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 60_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    key       TEXT PRIMARY KEY,
    snapshot  TEXT,
    layers    TEXT NOT NULL,
    created   REAL NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS records_last_used ON records (last_used);
CREATE INDEX IF NOT EXISTS records_snapshot ON records (snapshot);
"""


@dataclass(frozen=True, kw_only=True)
class LayerRecord:
    """One layer blob a step produced (its descriptor's fields plus the diff_id)."""

    digest: Digest
    diff_id: Digest
    size: int
    media_type: str

    def to_json(self) -> dict[str, str | int]:
        return {"digest": str(self.digest), "diff_id": str(self.diff_id), "size": self.size,
                "media_type": self.media_type}

    @classmethod
    def from_json(cls, data: dict[str, str | int]) -> LayerRecord:
        return cls(digest=Digest.parse(str(data["digest"])), diff_id=Digest.parse(str(data["diff_id"])),
                   size=int(data["size"]), media_type=str(data["media_type"]))


@dataclass(frozen=True, kw_only=True)
class CacheRecord:
    """A stored result; times are seconds since the epoch."""

    key: str
    snapshot: str | None
    layers: tuple[LayerRecord, ...]
    created: float
    last_used: float


def _record(row: tuple[str, str | None, str, float, float]) -> CacheRecord:
    key, snapshot, layers, created, last_used = row
    return CacheRecord(key=key, snapshot=snapshot,
                       layers=tuple(LayerRecord.from_json(item) for item in json.loads(layers)),
                       created=created, last_used=last_used)


class CacheDB:
    """The cache records of one store (``DATA_ROOT/cache.db``)."""

    def __init__(self, path: str | Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else data_root() / "cache.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # 0600 (SQLite gives its -wal and -shm files the same mode)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._clock = clock
        self._lock = threading.Lock()
        self._later: list[tuple[str, str | None, Sequence[LayerRecord]]] = []  # put_later's queue
        self._later_changed = threading.Condition()
        self._later_thread: threading.Thread | None = None
        self._later_error: StoreError | None = None
        self._writing = False
        self._stopping = False
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=BUSY_TIMEOUT_MS / 1000)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._enable_wal()
            self._db.execute("PRAGMA synchronous = NORMAL")
            if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._create_schema()  # a write transaction (~0.5 ms) only for a new or older database
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the cache database {self.path}: {exc}",
                             hint="check permissions, or remove the file to start with an empty cache") from exc

    def _create_schema(self) -> None:
        with self._write() as db:  # read again under the write lock: another process may have just made it
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer dockyard (schema {version})",
                                 hint="upgrade dockyard, or use another DOCKYARD_ROOT")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _enable_wal(self) -> None:
        """Switch to WAL; SQLite answers "locked" at once (no busy handler) while another
        process opens the same new database, so this retries within the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Write the queued records (a failure to is the caller's to see with :meth:`flush` first), then close."""
        with contextlib.suppress(StoreError):
            self.flush()
        with self._later_changed:
            self._stopping = True
            thread, self._later_thread = self._later_thread, None
            self._later_changed.notify_all()
        if thread is not None:
            thread.join()
        with self._lock:
            self._db.close()

    def get(self, key: str, *, touch: bool = True) -> CacheRecord | None:
        """The record for ``key``; a hit updates its last use unless ``touch`` is off."""
        try:
            if not touch:
                with self._lock:
                    row = self._db.execute("SELECT key, snapshot, layers, created, last_used FROM records "
                                           "WHERE key = ?", (key,)).fetchone()
                return _record(row) if row else None
            now = self._clock()
            with self._write() as db:
                row = db.execute("UPDATE records SET last_used = ? WHERE key = ? "
                                 "RETURNING key, snapshot, layers, created, last_used", (now, key)).fetchone()
            return _record(row) if row else None
        except sqlite3.Error as exc:
            raise StoreError(f"cache lookup failed in {self.path}: {exc}") from exc

    def put(self, key: str, *, snapshot: str | None, layers: Sequence[LayerRecord]) -> CacheRecord:
        """Store (or replace) the record for ``key``."""
        try:
            with self._write() as db:
                self._insert(db, key, snapshot, layers)
                row = db.execute("SELECT key, snapshot, layers, created, last_used FROM records WHERE key = ?",
                                 (key,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot record cache entry in {self.path}: {exc}") from exc
        return _record(row)

    def put_later(self, key: str, *, snapshot: str | None, layers: Sequence[LayerRecord]) -> None:
        """:meth:`put` in the background (see the module docstring); :meth:`flush` waits for it."""
        with self._later_changed:
            self._later.append((key, snapshot, layers))
            if self._later_thread is None and not self._stopping:
                self._later_thread = threading.Thread(target=self._write_later, name="cache-records", daemon=True)
                self._later_thread.start()
            self._later_changed.notify_all()

    def flush(self) -> None:
        """Wait until every :meth:`put_later` record is written; raise the first failure to write one."""
        with self._later_changed:
            if self._later and self._later_thread is None:  # closed: nothing would write them
                raise StoreError(f"cache records queued after {self.path} was closed")
            while self._later or self._writing:
                self._later_changed.wait()
            error, self._later_error = self._later_error, None
        if error is not None:
            raise error

    def _write_later(self) -> None:
        while True:
            with self._later_changed:
                while not self._later and not self._stopping:
                    self._later_changed.wait()
                if not self._later:
                    return
                batch, self._later = self._later, []
                self._writing = True
            error: StoreError | None = None
            try:
                with self._write() as db:  # one transaction for what queued up meanwhile
                    for key, snapshot, layers in batch:
                        self._insert(db, key, snapshot, layers)
            except Exception as exc:  # any failure must reach flush(), not end this thread
                error = StoreError(f"cannot record cache entry in {self.path}: {exc}")
            with self._later_changed:
                self._writing = False
                self._later_error = self._later_error or error
                self._later_changed.notify_all()

    def _insert(self, db: sqlite3.Connection, key: str, snapshot: str | None, layers: Sequence[LayerRecord]) -> None:
        now = self._clock()
        payload = json.dumps([layer.to_json() for layer in layers], separators=(",", ":"))
        db.execute("INSERT INTO records (key, snapshot, layers, created, last_used) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (key) DO UPDATE SET snapshot = excluded.snapshot, "
                   "layers = excluded.layers, last_used = excluded.last_used",
                   (key, snapshot, payload, now, now))

    def delete(self, key: str) -> bool:
        try:
            with self._write() as db:
                return db.execute("DELETE FROM records WHERE key = ?", (key,)).rowcount > 0
        except sqlite3.Error as exc:
            raise StoreError(f"cannot delete cache entry in {self.path}: {exc}") from exc

    def records(self) -> list[CacheRecord]:
        """Every record, least recently used first (the order prune drops them in)."""
        with self._lock:
            rows = self._db.execute("SELECT key, snapshot, layers, created, last_used FROM records "
                                    "ORDER BY last_used, key").fetchall()
        return [_record(row) for row in rows]

    def snapshot_in_use(self, snapshot: str) -> bool:
        """Whether any record still points at ``snapshot`` (prune keeps such snapshots)."""
        with self._lock:
            row = self._db.execute("SELECT 1 FROM records WHERE snapshot = ? LIMIT 1", (snapshot,)).fetchone()
        return row is not None

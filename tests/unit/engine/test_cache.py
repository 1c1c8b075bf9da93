"""Cache records in SQLite: lookups touch, records list LRU first, two processes share one database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.errors import StoreError
from dockyard.store.cache import CacheDB, LayerRecord

LAYER = LayerRecord(digest=Digest.of_bytes(b"gz"), diff_id=Digest.of_bytes(b"tar"), size=2,
                    media_type="application/vnd.oci.image.layer.v1.tar+gzip")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_put_get_and_touch(tmp_path: Path) -> None:
    clock = Clock()
    db = CacheDB(tmp_path / "cache.db", clock=clock)
    db.put("k1", snapshot="abc", layers=[LAYER])
    clock.now = 200.0
    record = db.get("k1")
    assert record is not None
    assert (record.snapshot, record.layers, record.created, record.last_used) == ("abc", (LAYER,), 100.0, 200.0)
    clock.now = 300.0
    untouched = db.get("k1", touch=False)
    assert untouched is not None and untouched.last_used == 200.0
    assert db.get("missing") is None


def test_records_are_listed_least_recently_used_first(tmp_path: Path) -> None:
    clock = Clock()
    db = CacheDB(tmp_path / "cache.db", clock=clock)
    for i, key in enumerate(["a", "b", "c"]):
        clock.now = 10.0 + i
        db.put(key, snapshot=None, layers=[])
    clock.now = 50.0
    db.get("a")
    assert [r.key for r in db.records()] == ["b", "c", "a"]


def test_replace_keeps_created_and_delete_removes(tmp_path: Path) -> None:
    clock = Clock()
    db = CacheDB(tmp_path / "cache.db", clock=clock)
    db.put("k", snapshot="s1", layers=[])
    clock.now = 150.0
    replaced = db.put("k", snapshot="s2", layers=[LAYER])
    assert (replaced.snapshot, replaced.created, replaced.last_used) == ("s2", 100.0, 150.0)
    assert db.snapshot_in_use("s2") and not db.snapshot_in_use("s1")
    assert db.delete("k") and not db.delete("k")
    assert db.records() == []


def test_records_survive_reopening_and_use_wal(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    CacheDB(path).put("k", snapshot="s", layers=[LAYER])
    again = CacheDB(path)
    record = again.get("k")
    assert record is not None and record.layers == (LAYER,)
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    CacheDB(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer dockyard"):
        CacheDB(path)


WORKER = textwrap.dedent("""
    import sys
    from dockyard.digest import Digest
    from dockyard.store.cache import CacheDB, LayerRecord
    db = CacheDB(sys.argv[1])
    name = sys.argv[2]
    for i in range(150):
        layer = LayerRecord(digest=Digest.of_bytes(f"{name}{i}".encode()), diff_id=Digest.of_bytes(b"d"),
                            size=i, media_type="m")
        db.put(f"{name}-{i}", snapshot=name, layers=[layer])
        db.put("shared", snapshot=name, layers=[])
        assert db.get(f"{name}-{i}") is not None
        db.get("shared")
""")


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), name], stderr=subprocess.PIPE)
             for name in ("one", "two")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    records = CacheDB(path).records()
    assert len(records) == 301
    assert {r.snapshot for r in records if r.key.startswith("one-")} == {"one"}
    assert sorted(r.layers[0].size for r in records if r.key.startswith("two-")) == list(range(150))


def test_records_put_later_are_written_by_flush_and_by_close(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    db = CacheDB(path)
    for i in range(50):
        db.put_later(f"k{i}", snapshot=f"s{i}", layers=[LAYER])
    db.flush()
    other = CacheDB(path)  # another connection (another process) sees them once flushed
    assert sorted(r.key for r in other.records()) == sorted(f"k{i}" for i in range(50))
    db.put_later("last", snapshot="s", layers=[])
    db.close()  # a build that failed skips the explicit flush: close still writes what was queued
    record = other.get("last")
    assert record is not None and record.snapshot == "s" and record.layers == ()
    other.close()


def test_a_record_that_cannot_be_written_later_fails_the_flush(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db = CacheDB(tmp_path / "cache.db")

    def full(*_args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    def broken(*_args: object) -> None:
        raise TypeError("not a layer")

    monkeypatch.setattr(db, "_insert", full)
    db.put_later("k", snapshot="s", layers=[LAYER])
    with pytest.raises(StoreError, match=r"cannot record cache entry .*disk is full"):
        db.flush()
    monkeypatch.setattr(db, "_insert", broken)  # not an SQLite error: still reported, the writer still runs
    db.put_later("k2", snapshot="s", layers=[LAYER])
    with pytest.raises(StoreError, match="not a layer"):
        db.flush()
    monkeypatch.undo()
    db.flush()  # reported once
    assert db.get("k") is None
    db.put_later("k3", snapshot="s", layers=[LAYER])
    db.flush()
    assert db.get("k3") is not None
    db.close()

"""The record store: JSON round trips, the synthesised default, the current pointer, damaged files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dockyard.builders.node import PlatformSupport
from dockyard.builders.records import BootRecord, BuilderRecord, NodeRecord, from_json, to_json
from dockyard.builders.store import BuilderStore
from dockyard.errors import ConfigError, UsageError
from dockyard.platform import Platform

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _record(name: str = "b") -> BuilderRecord:
    boot = BootRecord(at=AT, runtime="runc 1.1.5", version="0.1.0", seconds=0.25, platforms=(
        PlatformSupport(Platform.parse("linux/amd64"), verified=True, detail="native"),
        PlatformSupport(Platform.parse("linux/arm64"), emulated=True, verified=True, detail="qemu-aarch64"),
    ))
    return BuilderRecord(name=name, created=AT, last_used=AT, config_file="config.toml", nodes=(
        NodeRecord(name=f"{name}0", platforms=(Platform.parse("linux/arm/v7"),), boot=boot),
        NodeRecord(name=f"{name}1", stopped=True),
    ))


def test_record_round_trips_through_json() -> None:
    rec = _record()
    assert from_json(json.loads(json.dumps(to_json(rec))), where="t") == rec


def test_store_put_get_and_names(tmp_path: Path) -> None:
    store = BuilderStore(tmp_path / "builders")
    assert store.names() == ["default"]
    store.put(_record("zeta"))
    store.put(_record("alpha"))
    assert store.names() == ["default", "alpha", "zeta"]
    assert store.get("alpha") == _record("alpha")


def test_default_is_synthesised_until_stored(tmp_path: Path) -> None:
    store = BuilderStore(tmp_path / "builders")
    rec = store.get("default")
    assert rec.name == "default" and [n.name for n in rec.nodes] == ["default"] and rec.nodes[0].boot is None
    assert store.exists("default") and not (store.root / "default").exists()


def test_unknown_builder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no builder 'ghost' found"):
        BuilderStore(tmp_path / "builders").get("ghost")


def test_current_pointer_falls_back_to_default(tmp_path: Path) -> None:
    store = BuilderStore(tmp_path / "builders")
    assert store.current() == "default"
    store.put(_record("b"))
    store.set_current("b")
    assert store.current() == "b"
    with store.locked():
        store.remove("b")
    assert store.current() == "default"  # a pointer to a removed builder is ignored
    assert not (store.root / "b").exists()
    assert [p.name for p in store.root.iterdir() if p.name.startswith(".removing")] == []


def test_damaged_records_are_config_errors_naming_the_file(tmp_path: Path) -> None:
    store = BuilderStore(tmp_path / "builders")
    (store.root / "bad").mkdir(parents=True)
    (store.root / "bad" / "builder.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad/builder\.json: damaged builder record"):
        store.get("bad")
    (store.root / "bad" / "builder.json").write_text('{"version": 1, "name": "bad"}')
    with pytest.raises(ConfigError, match="damaged builder record"):
        store.get("bad")
    (store.root / "bad" / "builder.json").write_text('{"version": 99}')
    with pytest.raises(ConfigError, match="unsupported builder record version 99"):
        store.get("bad")


def test_update_applies_change_and_stores(tmp_path: Path) -> None:
    store = BuilderStore(tmp_path / "builders")
    store.put(_record("b"))
    new = store.update("b", lambda r: r.with_node(NodeRecord(name="b2")))
    assert [n.name for n in store.get("b").nodes] == ["b0", "b1", "b2"] == [n.name for n in new.nodes]


def test_a_use_is_a_stamp_not_a_rewritten_record(tmp_path: Path) -> None:
    """Every build marks its builder used; the record (config, nodes) is not rewritten for it."""
    store = BuilderStore(tmp_path / "builders")
    store.put(_record("b"))
    record_file = store.dir("b") / "builder.json"
    before = (record_file.read_bytes(), record_file.stat().st_mtime_ns)
    store.mark_used("b")
    assert (record_file.read_bytes(), record_file.stat().st_mtime_ns) == before
    last = store.get("b").last_used
    assert last is not None and last > AT and (datetime.now(UTC) - last).total_seconds() < 60
    store.put(dataclasses.replace(_record("b"), last_used=datetime(2099, 1, 1, tzinfo=UTC)))
    assert store.get("b").last_used == datetime(2099, 1, 1, tzinfo=UTC)  # the later of the two
    store.mark_used("default")  # the synthesised default too, still without a stored record
    assert store.get("default").last_used is not None and not (store.root / "default" / "builder.json").exists()

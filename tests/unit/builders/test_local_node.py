"""The local node's status and platforms without bootstrapping (no root needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dockyard.builders.local import LocalNode, check_runtime
from dockyard.builders.node import Node, PlatformSupport
from dockyard.builders.records import BootRecord, NodeRecord
from dockyard.platform import Platform

AMD64 = Platform.parse("linux/amd64")
BOOT = BootRecord(at=datetime(2026, 1, 1, tzinfo=UTC), runtime="runc 1.1.5", version="0.1.0",
                  platforms=(PlatformSupport(AMD64, verified=True, detail="native"),))


def test_local_node_satisfies_the_node_protocol(tmp_path: Path) -> None:
    node: Node = LocalNode(NodeRecord(name="n"), tmp_path)  # mypy checks the protocol here
    assert node.store_root() == tmp_path and node.endpoint == "local" and node.name == "n"


def test_status_follows_record_and_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert LocalNode(NodeRecord(name="n"), store).status() == "inactive"
    booted = LocalNode(NodeRecord(name="n", boot=BOOT), store)
    assert booted.status() == "inactive"  # the store is gone
    store.mkdir()
    assert booted.status() == "running"
    assert list(booted.platforms()) == list(BOOT.platforms)
    stopped = LocalNode(NodeRecord(name="n", boot=BOOT, stopped=True), store)
    assert stopped.status() == "stopped" and list(stopped.platforms()) == list(BOOT.platforms)


def test_unbooted_node_with_configured_platforms_offers_exactly_those(tmp_path: Path) -> None:
    wanted = (Platform.parse("linux/s390x"), AMD64)
    offers = LocalNode(NodeRecord(name="n", platforms=wanted), tmp_path).platforms()
    assert [s.platform for s in offers] == list(wanted)
    assert [s.emulated for s in offers] == [True, False]
    assert not any(s.verified for s in offers)


def test_unbooted_node_offers_native_platforms_first(tmp_path: Path) -> None:
    offers = LocalNode(NodeRecord(name="n"), tmp_path).platforms()
    assert offers[0].platform == Platform.host() and not offers[0].emulated
    kinds = [s.emulated for s in offers]
    assert kinds == sorted(kinds)  # no native platform after an emulated one


def test_runtime_check_reports_runc_version() -> None:
    assert check_runtime().startswith("runc 1.")

"""``dockyard.builders`` alone, no CLI: builders made, extended with an SSH node record, listed,
inspected, chosen, stopped and removed; the build cache of a real build measured and pruned.

The records are checked in the builder's JSON file on disk and the store's blobs by walking its
directory, not only through the API's own answers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import dockyard
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _record(name: str) -> dict[str, object]:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "dockyard" / "builders" / name / "builder.json"
    doc: dict[str, object] = json.loads(path.read_text())
    return doc


def test_builders_created_extended_listed_used_and_removed_through_the_api(tmp_path: Path) -> None:
    made = dockyard.builders.create(name="apiyard", platforms="linux/amd64", placement="native-only")
    assert (made.name, made.driver, made.current, made.placement) == ("apiyard", "local", False, "native-only")
    assert [(n.name, n.endpoint, n.configured) for n in made.nodes] == [("apiyard0", "local", ("linux/amd64",))]
    assert made.nodes[0].store == Path(os.environ["DOCKYARD_ROOT"]) / "builders" / "apiyard" / "apiyard0"

    # an SSH node is recorded, not contacted (no bootstrap): inactive, its store on the far side
    far = dockyard.builders.create("ssh://build@127.0.0.1:2222", name="apiyard", append=True, node="far",
                                   platforms=["linux/arm64"])
    node = far.nodes[1]
    assert (node.name, node.endpoint, node.status, node.store, node.version) == (
        "far", "ssh://build@127.0.0.1:2222", "inactive", None, None)
    assert node.platforms == node.configured == ("linux/arm64",)
    stored = _record("apiyard")
    assert [(n["name"], n["endpoint"], n["platforms"]) for n in stored["nodes"]] == [  # type: ignore[attr-defined]
        ("apiyard0", "local", ["linux/amd64"]), ("far", "ssh://build@127.0.0.1:2222", ["linux/arm64"])]

    listed = {b.name: b for b in dockyard.builders.ls()}
    assert list(listed) == ["default", "apiyard"]
    assert listed["default"].current and not listed["apiyard"].current
    assert dockyard.builders.inspect("apiyard") == listed["apiyard"] == far

    chosen = dockyard.builders.use("apiyard")
    assert chosen.current and dockyard.builders.inspect().name == "apiyard"  # the one in use
    assert [b.name for b in dockyard.builders.ls() if b.current] == ["apiyard"]

    left = dockyard.builders.create(name="apiyard", node="far", leave=True)
    assert [n.name for n in left.nodes] == ["apiyard0"]
    assert [n["name"] for n in _record("apiyard")["nodes"]] == ["apiyard0"]  # type: ignore[attr-defined]

    assert {n.status for n in dockyard.builders.stop("apiyard").nodes} == {"stopped"}

    with pytest.raises(dockyard.UsageError, match="the default builder cannot be removed"):
        dockyard.builders.rm(["default", "apiyard"])
    assert "apiyard" in {b.name for b in dockyard.builders.ls()}  # nothing removed by a refused call
    assert dockyard.builders.rm() == ("apiyard",)  # the one in use
    assert [b.name for b in dockyard.builders.ls()] == ["default"]
    assert dockyard.builders.inspect().name == "default"
    assert not (Path(os.environ["XDG_CONFIG_HOME"]) / "dockyard" / "builders" / "apiyard").exists()


def _blobs(store: Path) -> set[str]:
    return {p.name for p in (store / "content" / "blobs" / "sha256").iterdir()}


def test_du_and_prune_measure_and_empty_a_real_build_cache(busybox_base: str, registry: TestRegistry,
                                                           tmp_path: Path) -> None:
    made = dockyard.builders.create(name="cachey", platforms="linux/amd64")
    store = made.nodes[0].store
    assert store is not None
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN head -c 300000 /dev/urandom > /noise\n")
    dockyard.build(ctx, platforms="linux/amd64", builder="cachey")
    booted = dockyard.builders.inspect("cachey", bootstrap=True).nodes[0]  # probes the platform again
    assert booted.status == "running" and "linux/amd64" in booted.verified and booted.version

    usage = dockyard.builders.du(builder="cachey")
    assert usage.builder == "cachey"
    kinds = {r.kind for r in usage.records}
    assert kinds == {"build step", "base layer"}
    step = next(r for r in usage.records if r.kind == "build step")
    assert step.size >= 300000 and step.id.startswith("sha256:")
    assert usage.reclaimable == sum(r.size for r in usage.records) and usage.total >= usage.reclaimable
    before = _blobs(store)
    assert before

    assert dockyard.builders.prune(builder="cachey", filters="until=1h").records == 0  # all used just now
    assert len(dockyard.builders.du(builder="cachey").records) == len(usage.records)

    pruned = dockyard.builders.prune(builder="cachey")  # build steps; base layers stay without all=True
    assert pruned.records == sum(1 for r in usage.records if r.kind == "build step")
    assert {r.kind for r in dockyard.builders.du(builder="cachey").records} == {"base layer"}
    assert pruned.freed >= 300000
    assert _blobs(store) < before

    everything = dockyard.builders.prune(builder="cachey", all=True, keep_storage=0)
    assert everything.records == sum(1 for r in usage.records if r.kind == "base layer")
    assert dockyard.builders.du(builder="cachey").records == ()
    assert not _blobs(store)

"""--cache-to/--cache-from type=registry: a cold CI runner (an empty DOCKYARD_ROOT) reuses the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.cachemanifest import ARTIFACT_TYPE, CONFIG_MEDIA_TYPE
from dockyard.oci.descriptor import Descriptor
from dockyard.reference import Reference
from dockyard.registry import Client
from dockyard.store.content import ContentStore
from tests.integration.cache.cachebuild import build, skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "app.txt").write_text("hello from the context\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {base} AS compile\n"
        "RUN echo compiled > /artifact && sleep 0.2\n"
        f"FROM {base}\n"
        "RUN echo runtime > /runtime\n"
        "COPY app.txt /app.txt\n"
        "COPY --from=compile /artifact /artifact\n"
        "ARG LAST=1\n"
        "RUN echo last-$LAST > /last\n"
    )
    return ctx


def _cache_config(ref: str, tmp_path: Path) -> dict[str, Any]:
    manifest = skopeo_raw(ref)
    assert manifest["artifactType"] == ARTIFACT_TYPE
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    store = ContentStore(tmp_path / "inspect")
    with Client() as client:
        desc = Descriptor.from_json(manifest["config"])
        client.fetch_blob(Reference.parse(ref), desc, store)
    config: dict[str, Any] = json.loads(store.read_bytes(desc.digest))
    return config


def test_cache_from_registry_on_an_empty_root_runs_no_step(busybox_base: str, registry: TestRegistry,
                                                            tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    cache = f"{registry.address}/cached-app:buildcache"
    first = build(ctx, tmp_path / "root-1", "-t", f"{registry.address}/cached-app:1", "--push",
                  "--cache-to", f"type=registry,ref={cache},mode=max")
    assert len(first.ran_steps()) == 3
    assert any(name.startswith("exporting cache to") for name in first.started())

    second = build(ctx, tmp_path / "root-2", "-t", f"{registry.address}/cached-app:2", "--push",
                   "--cache-from", f"type=registry,ref={cache}")
    assert second.ran_steps() == []
    assert [n for n in second.started() if "] " in n] == []  # no COPY, no FROM either: the top record hit
    assert second.digest == first.digest
    one, two = skopeo_raw(f"{registry.address}/cached-app:1"), skopeo_raw(f"{registry.address}/cached-app:2")
    assert [layer["digest"] for layer in one["layers"]] == [layer["digest"] for layer in two["layers"]]
    assert one == two


def test_mode_min_holds_the_image_chain_and_max_every_stage(busybox_base: str, registry: TestRegistry,
                                                             tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    built = build(ctx, tmp_path / "root-1", "-t", f"{registry.address}/modes-app:1", "--push",
                  "--cache-to", f"type=registry,ref={registry.address}/modes-app:min",
                  "--cache-to", f"type=registry,ref={registry.address}/modes-app:max,mode=max")
    image_layers = [layer["digest"] for layer in skopeo_raw(f"{registry.address}/modes-app:1")["layers"]]
    minimal = _cache_config(f"{registry.address}/modes-app:min", tmp_path)
    maximal = _cache_config(f"{registry.address}/modes-app:max", tmp_path)
    # min: every record's chain is a prefix of the image; max adds the compile stage's RUN.
    for record in minimal["records"]:
        assert record["chain"] == image_layers[:len(record["chain"])]
    assert len(minimal["records"]) == 5  # FROM, RUN, COPY, COPY --from, RUN
    assert len(maximal["records"]) == 6
    assert {layer["digest"] for layer in minimal["layers"]} == set(image_layers)
    assert built.digest

    # A change to the last step on a cold runner: only that step runs, from the min cache (the
    # compile stage is not needed: the COPY --from record hits and planning stops there).
    again = build(ctx, tmp_path / "root-2", "--build-arg", "LAST=2",
                  "--cache-from", f"{registry.address}/modes-app:min")
    assert again.ran_steps() == ["[stage-1 5/5] RUN /bin/sh -c echo last-$LAST > /last"]


def test_missing_cache_is_a_warning_not_a_failure(busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    built = build(ctx, tmp_path / "root", "--cache-from", f"type=registry,ref={registry.address}/nothing:here")
    assert len(built.ran_steps()) == 3
    assert any(line.startswith("WARNING: cache not imported") for line in built.logs())


def test_ci_loop_from_and_to_one_ref_keeps_every_record(busybox_base: str, registry: TestRegistry,
                                                        tmp_path: Path) -> None:
    """Cold runner after cold runner, each with --cache-from X --cache-to X,mode=max: the records the
    second build did not need (the compile stage, behind a cache hit) are carried over, so the third
    build still skips the compile stage."""
    ctx = _context(tmp_path, busybox_base)
    cache = f"{registry.address}/ci-app:buildcache"
    loop = ["--cache-from", cache, "--cache-to", f"type=registry,ref={cache},mode=max"]
    build(ctx, tmp_path / "root-1", *loop)
    second = build(ctx, tmp_path / "root-2", "--build-arg", "LAST=2", *loop)
    assert len(second.ran_steps()) == 1
    # Every vertex of this build's graph, the compile stage's included (records of other builds'
    # graphs, such as the old last step, are not this build's cache and are dropped).
    assert len(_cache_config(cache, tmp_path)["records"]) == 6
    (ctx / "app.txt").write_text("changed\n")  # now the COPY --from needs the compile stage's result
    third = build(ctx, tmp_path / "root-3", "--build-arg", "LAST=3", *loop)
    assert [name for name in third.ran_steps() if "compile" in name] == []
    assert len(third.ran_steps()) == 1

"""--cache-to type=local (an OCI layout) and type=inline (records in the pushed image's config)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.engine.cachemanifest import ARTIFACT_TYPE, INLINE_FIELD
from tests.integration.cache.cachebuild import build, skopeo_config, skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nRUN echo one > /one\nRUN echo two > /two\n")
    return ctx


def test_local_cache_dir_is_an_oci_layout_that_seeds_an_empty_root(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    dest = tmp_path / "cache-dir"
    first = build(ctx, tmp_path / "root-1", "--cache-to", f"type=local,dest={dest},mode=max")
    index = json.loads((dest / "index.json").read_text())
    assert [m["artifactType"] for m in index["manifests"]] == [ARTIFACT_TYPE]
    raw = json.loads(subprocess.run(["skopeo", "inspect", "--raw", f"oci:{dest}:latest"], check=True,
                                    capture_output=True, text=True).stdout)
    assert raw["artifactType"] == ARTIFACT_TYPE and len(raw["layers"]) == 3  # base + two RUN layers

    second = build(ctx, tmp_path / "root-2", "--cache-from", f"type=local,src={dest}")
    assert second.ran_steps() == []
    assert second.digest == first.digest


def test_inline_cache_of_a_pushed_image_is_reused(busybox_base: str, registry: TestRegistry,
                                                  tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    image = f"{registry.address}/inline-app:1"
    first = build(ctx, tmp_path / "root-1", "-t", image, "--push", "--cache-to", "type=inline")
    config = skopeo_config(image)
    records = config[INLINE_FIELD]["records"]
    assert sorted(r["layers"] for r in records) == [1, 2, 3]
    assert len(skopeo_raw(image)["layers"]) == 3

    second = build(ctx, tmp_path / "root-2", "--cache-from", f"type=registry,ref={image}")
    assert second.ran_steps() == []
    # The rebuilt image has no inline cache (it was not asked for), so only its config differs.
    assert second.digest != first.digest


def test_a_failed_export_fails_the_build_unless_ignore_error(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the layout should go\n")
    proc = subprocess.run([sys.executable, "-m", "dockyard", "build", "--cache-to", f"type=local,dest={blocker}",
                           str(ctx)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DOCKYARD_ROOT": str(tmp_path / "root-1")})
    assert proc.returncode != 0
    assert f"error: cannot write the cache to {blocker}" in proc.stderr
    built = build(ctx, tmp_path / "root-1", "--cache-to", f"type=local,dest={blocker},ignore-error=true")
    assert any(line.startswith("WARNING: cache not exported: cannot write the cache") for line in built.logs())

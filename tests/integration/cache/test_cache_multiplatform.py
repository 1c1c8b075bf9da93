"""Two platforms, one cache: records of both platforms' graphs in one manifest, and inline
records in each platform's config of the pushed index."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.cachemanifest import INLINE_FIELD
from dockyard.executor import qemu
from tests.integration.cache.cachebuild import build, skopeo_config, skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def test_two_platform_build_seeds_an_empty_root_from_registry_and_inline(
        busybox_base: str, registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN uname -m > /arch\nRUN echo done > /done\n")
    image = f"{registry.address}/multi-app:1"
    cache = f"{registry.address}/multi-app:cache"
    platforms = ["--platform", "linux/amd64,linux/arm64"]
    first = build(ctx, tmp_path / "root-1", *platforms, "-t", image, "--push",
                  "--cache-to", f"type=registry,ref={cache},mode=max", "--cache-to", "type=inline")
    assert len(first.ran_steps()) == 4
    index = skopeo_raw(image)
    assert len(index["manifests"]) == 2

    # Both later builds ask for inline cache too, so identical records must give identical configs.
    from_registry = build(ctx, tmp_path / "root-2", *platforms, "--cache-from", cache, "--cache-to", "type=inline")
    assert from_registry.ran_steps() == []
    assert from_registry.digest == first.digest

    from_inline = build(ctx, tmp_path / "root-3", *platforms, "--cache-from", image, "--cache-to", "type=inline")
    assert from_inline.ran_steps() == []
    assert from_inline.digest == first.digest
    for entry in index["manifests"]:
        config = skopeo_config(f"{registry.address}/multi-app@{entry['digest']}")
        assert sorted(r["layers"] for r in config[INLINE_FIELD]["records"]) == [1, 2, 3]

"""Planning reads a base image's manifest and config only; its layers come when its step runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.bases import BaseImages
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

AMD64 = Platform.parse("linux/amd64")


def test_resolve_fetches_manifest_and_config_and_pull_the_layers(busybox_base: str, registry: TestRegistry,
                                                                tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "content")
    with Client() as client:
        bases = BaseImages(client, store)
        image = bases.resolve(busybox_base, AMD64)
        assert store.has(image.descriptor.digest) and store.has(image.manifest.config.digest)
        assert image.manifest.layers and not any(store.has(d.digest) for d in image.manifest.layers)
        # the planner's question: the config the resolve parsed (parsed once), still no layers
        assert bases.image_config(busybox_base, AMD64) is image.config
        assert not any(store.has(d.digest) for d in image.manifest.layers)
        assert bases.pull(busybox_base, AMD64) is image
        assert all(store.has(d.digest) for d in image.manifest.layers)


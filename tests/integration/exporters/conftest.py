"""Fixtures for exporter integration tests: the busybox base pulled into a fresh content store."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.oci.descriptor import Descriptor
from dockyard.registry import Client
from dockyard.store.content import ContentStore


@pytest.fixture
def pulled_busybox(busybox_base: str, tmp_path: Path) -> tuple[ContentStore, Descriptor]:
    """The two-platform busybox index from the session registry, every blob in a new store."""
    store = ContentStore(tmp_path / "pulled")
    with Client() as client:
        top = client.pull_all(busybox_base, store=store)
    return store, top

"""The release tests' private registry: HTTPS with a CA made here and a robot user (one per session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rig import registries
from tests.rig.registries import TestRegistry


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    reg = registries.start_tls(tmp_path_factory.mktemp("registry-tls"))
    yield reg
    reg.stop()

"""Builder tests choose the builder themselves: no inherited DOCKYARD_BUILDER/BUILDX_BUILDER."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_builder_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_BUILDER", raising=False)
    monkeypatch.delenv("BUILDX_BUILDER", raising=False)

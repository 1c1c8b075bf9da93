"""The import contract at run time: what import-linter checks statically, seen in ``sys.modules``.

A fresh interpreter imports one module and reports which heavy or forbidden modules came
along (package ``__init__`` files included, which the static contract does not follow).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _loaded(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("module", ["dockyard.exporters.oci_layout", "dockyard.oci.source", "dockyard.store.layout",
                                    "dockyard.oci.config", "dockyard.oci.manifest"])
def test_the_image_model_and_layout_writer_load_no_http_client(module: str) -> None:
    loaded = _loaded(module)
    assert "httpx" not in loaded
    assert not {m for m in loaded if m.startswith("dockyard.registry")}


@pytest.mark.parametrize("module", ["dockyard.dockerfile.plan", "dockyard.graph.definition"])
def test_planning_loads_no_executor_engine_or_registry(module: str) -> None:
    loaded = _loaded(module)
    assert not {m for m in loaded if m.startswith(("dockyard.executor", "dockyard.engine", "dockyard.registry",
                                                    "dockyard.solver", "httpx"))}


def test_the_library_loads_no_cli() -> None:
    loaded = _loaded("dockyard.phases.build")  # click itself may come along: httpx imports it for its own CLI
    assert not {m for m in loaded if m.startswith("dockyard.cli")}


@pytest.mark.parametrize("module", ["dockyard.oci.source", "dockyard.oci.config", "dockyard.oci.manifest",
                                    "dockyard.oci.index", "dockyard.oci.unpack", "dockyard.oci.tarfs"])
def test_the_image_model_loads_no_store(module: str) -> None:
    """An OCI layout holds a content store, so it lives in store/ (store.layout), not in oci/."""
    assert not {m for m in _loaded(module) if m.startswith("dockyard.store")}

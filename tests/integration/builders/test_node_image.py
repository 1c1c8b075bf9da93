"""deploy/node/Dockerfile, built by dockyard from local parts only, runs ``dockyard node serve --stdio``.

No Debian mirror, no PyPI, no Docker Hub: the base is the test rig's Debian 12 (python3 and pip,
made by scripts/setup) with ``APT_PACKAGES`` empty, and pip installs from a wheelhouse in the
build context (tests/rig/wheelhouse.py: dockyard's wheel from the checkout, its dependencies
repacked from the test venv; x86_64 and Python 3.11 wheels, so linux/amd64 only). The image is
checked with skopeo and umoci, and run in runc: the node answers ``hello`` with this version.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from dockyard import __version__
from dockyard.builders.protocol.session import Session
from tests.integration.build.buildrig import dockyard, inspect_raw, unpack
from tests.rig import wheelhouse
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _context(tmp_path: Path) -> Path:
    """What the Dockerfile reads from a checkout (pyproject, README, src), plus the wheelhouse."""
    ctx = tmp_path / "ctx"
    (ctx / "deploy" / "node").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(wheelhouse.REPO_ROOT / name, ctx / name)
    shutil.copy(wheelhouse.REPO_ROOT / "deploy" / "node" / "Dockerfile", ctx / "deploy" / "node" / "Dockerfile")
    shutil.copytree(wheelhouse.REPO_ROOT / "src", ctx / "src", ignore=shutil.ignore_patterns("__pycache__"))
    wheelhouse.make(ctx / "wheels")
    return ctx


def test_the_node_image_builds_from_local_parts_and_serves_hello(
        debian_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    ref = f"{registry.address}/dockyard-node:{__version__}"
    env = {"DOCKYARD_ROOT": str(tmp_path / "root"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    dockyard("build", "--progress", "plain", "-f", str(ctx / "deploy" / "node" / "Dockerfile"),
             "--platform", "linux/amd64", "--build-arg", f"BASE={debian_base}", "--build-arg", "APT_PACKAGES=",
             "--build-arg", "DOCKYARD=dockyard", "--build-arg", "EXTRAS=",
             "--build-arg", "PIP_OPTIONS=--no-index --find-links /context/wheels --disable-pip-version-check",
             "--push", "-t", ref, str(ctx), env=env, timeout=900)

    config = inspect_raw(ref, config=True)["config"]
    assert config["Cmd"] == ["sleep", "infinity"]
    assert "DOCKYARD_ROOT=/var/lib/dockyard" in config["Env"]
    rootfs, _runtime = unpack(ref, "amd64", tmp_path / "unpacked")
    assert (rootfs / "usr" / "local" / "bin" / "dockyard").is_symlink()
    assert not (rootfs / "src").exists()  # the sources were removed after the install
    assert not (rootfs / "context").exists() or not any((rootfs / "context").iterdir())  # the wheelhouse was a mount

    bundle = rootfs.parent
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["args"], cfg["process"]["terminal"] = ["dockyard", "node", "serve", "--stdio"], False
    (bundle / "config.json").write_text(json.dumps(cfg))
    argv = ["runc", "run", "--bundle", str(bundle), f"dy-node-image-{secrets.token_hex(4)}"]
    with Session(argv, node="image", builder="test") as session:
        hello = session.hello()  # a version other than this checkout's would raise NodeError here
    assert hello["dockyard"] == __version__
    assert hello["machine"] == "x86_64"
    assert hello["store_root"] == "/var/lib/dockyard/builders/test/image"

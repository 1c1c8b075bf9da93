"""Shared fixtures: real registries (anonymous, Basic, Bearer), a temporary DOCKYARD_ROOT per
test, binfmt for arm64, and the multi-arch busybox base image in the anonymous registry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.executor import qemu
from tests.rig import baseimage, registries
from tests.rig.registries import TestRegistry


def pytest_configure(config: pytest.Config) -> None:
    """Let the commands the tests start take Ctrl-C. A suite started as a background job (``cmd &``
    in a script, ``nohup``) inherits SIGINT ignored, and an ignored signal stays ignored across
    exec: the tests that interrupt a build with SIGINT would see it run on. A handled signal is
    reset to the default on exec, so every child gets Python's KeyboardInterrupt back."""
    del config
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The per-user cache the CLI keeps (``$XDG_CACHE_HOME/dockyard``: compiled dataclass methods,
    ``dockyard.cli.methodcache``), private to this test session: the commands the tests start never
    write the classes tests define into the caller's ~/.cache, and still share one warm cache."""
    path = tmp_path_factory.mktemp("xdg-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(path)
    yield path
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def dockyard_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty data root and config home."""
    root = tmp_path / "dockyard-root"
    monkeypatch.setenv("DOCKYARD_ROOT", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    return root


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("integration tests need root (runc, binfmt_misc, overlayfs); run them as root")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    """An anonymous registry for the whole session."""
    reg = registries.start_anonymous(tmp_path_factory.mktemp("registry-anon"))
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    """A registry with htpasswd Basic auth (``.username``/``.password``)."""
    reg = registries.start_basic(tmp_path_factory.mktemp("registry-basic"))
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRegistry]:
    """A registry with Bearer token auth; ``.token_server.lifetime`` sets token life (seconds)."""
    reg = registries.start_token(tmp_path_factory.mktemp("registry-token"))
    yield reg
    reg.stop()


@pytest.fixture
def token_lifetime(token_registry: TestRegistry) -> Iterator[None]:
    """Restores the token server's lifetimes after a test that changes them."""
    server = token_registry.token_server
    assert server is not None
    saved = (server.lifetime, server.advertised_lifetime)
    yield
    server.lifetime, server.advertised_lifetime = saved


@pytest.fixture(scope="session")
def binfmt_arm64() -> qemu.Emulator:
    """qemu-aarch64 registered in binfmt_misc with the F flag."""
    _needs_root()
    return qemu.ensure("arm64")


@pytest.fixture(scope="session")
def busybox_rootfs() -> dict[str, Path]:
    """The rootfs tarballs per architecture (``amd64``, ``arm64``) made by scripts/setup."""
    return baseimage.rootfs_tarballs()


@pytest.fixture(scope="session")
def busybox_base(registry: TestRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``HOST:PORT/busybox:latest``: a linux/amd64 + linux/arm64 index (no variant) in the anonymous registry,
    made by ``dockyard imagetools import`` from the rootfs tarballs (SOURCE_DATE_EPOCH fixed)."""
    tars = baseimage.rootfs_tarballs()
    work = tmp_path_factory.mktemp("busybox-import")
    ref = f"{registry.address}/busybox:latest"
    env = {**os.environ, "DOCKYARD_ROOT": str(work / "root"), "DOCKER_CONFIG": str(work / "docker"),
           "XDG_CONFIG_HOME": str(work / "xdg"), "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run([sys.executable, "-m", "dockyard", "imagetools", "import", "-t", ref,
                    "--platform", f"linux/amd64={tars['amd64']}", "--platform", f"linux/arm64={tars['arm64']}"],
                   check=True, capture_output=True, env=env, timeout=300)
    return ref


@pytest.fixture(scope="session")
def debian_base(registry: TestRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``HOST:PORT/debian:bookworm``: Debian 12 with python3-pip for linux/amd64 and linux/arm64 (a real
    dpkg database, made by mmdebstrap in scripts/setup), imported like the busybox base."""
    tars = baseimage.rootfs_tarballs(baseimage.DEBIAN_DIR)
    work = tmp_path_factory.mktemp("debian-import")
    ref = f"{registry.address}/debian:bookworm"
    env = {**os.environ, "DOCKYARD_ROOT": str(work / "root"), "DOCKER_CONFIG": str(work / "docker"),
           "XDG_CONFIG_HOME": str(work / "xdg"), "SOURCE_DATE_EPOCH": "1700000000"}
    subprocess.run([sys.executable, "-m", "dockyard", "imagetools", "import", "-t", ref,
                    "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "--platform", f"linux/amd64={tars['amd64']}", "--platform", f"linux/arm64={tars['arm64']}"],
                   check=True, capture_output=True, env=env, timeout=600)
    return ref

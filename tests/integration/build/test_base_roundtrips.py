"""Round trips of a warm build: each base tag resolved once per build, with a HEAD (issue 17).

A two-platform build reads its base three times (the lint's config check, then planning each
platform); all of them share one resolution of the tag, and documents already in the content
store are never fetched again. containerd's resolver (remotes/docker/resolver.go, ``Resolve``)
is what BuildKit uses: HEAD the tag, GET only when no Docker-Content-Digest comes back.
The registry's own access log counts the requests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard import localregistry
from tests.integration.build.buildrig import dockyard
from tests.integration.build.test_startup_imports import imported as _imported
from tests.rig import baseimage

pytestmark = pytest.mark.integration

_REQUEST = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (/v2/[^ ]*) HTTP')


@pytest.fixture
def logged_registry(tmp_path: Path) -> Iterator[localregistry.RunningRegistry]:
    config = localregistry.RegistryConfig(port=localregistry.free_port(), storage=tmp_path / "storage",
                                          rundir=tmp_path, accesslog=True)
    running = localregistry.start(config)
    yield running
    localregistry.stop_pid(running.pid)


def _requests(log: Path, start: int) -> list[str]:
    text = log.read_bytes()[start:].decode(errors="replace")
    return [f"{m.group(1)} {m.group(2)}" for m in _REQUEST.finditer(text)]


def _base_and_context(registry: localregistry.RunningRegistry, tmp_path: Path) -> Path:
    """The two-platform busybox imported into ``registry``, and a context that builds FROM it."""
    tars = baseimage.rootfs_tarballs()
    base = f"{registry.address}/busybox:latest"
    subprocess.run([sys.executable, "-m", "dockyard", "imagetools", "import", "-t", base,
                    "--platform", f"linux/amd64={tars['amd64']}", "--platform", f"linux/arm64={tars['arm64']}"],
                   check=True, capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
                   timeout=300)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base}\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    return context


def test_a_warm_two_platform_build_resolves_its_base_with_one_head(logged_registry: localregistry.RunningRegistry,
                                                                    tmp_path: Path) -> None:
    context = _base_and_context(logged_registry, tmp_path)
    args = ("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", str(context))
    log = logged_registry.log
    start = log.stat().st_size
    dockyard(*args)
    cold = [r for r in _requests(log, start) if "/manifests/" in r]
    assert cold.count("HEAD /v2/busybox/manifests/latest") == 1, cold
    assert "GET /v2/busybox/manifests/latest" not in cold

    start = log.stat().st_size
    warm = subprocess.run([sys.executable, "-X", "importtime", "-m", "dockyard", *args], capture_output=True,
                          text=True, timeout=300, check=False)
    assert warm.returncode == 0, warm.stderr
    assert warm.stderr.count("CACHED") >= 2
    manifests = [r for r in _requests(log, start) if "/manifests/" in r or "/blobs/" in r]
    assert manifests == ["HEAD /v2/busybox/manifests/latest"]  # no GET: the index and manifests are in the store
    # the HTTP client came, its own command-line client (rich, pygments) did not: dockyard.registry's __init__
    loaded = _imported(warm.stderr)
    assert "httpx" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("rich", "pygments")}


def test_a_cold_single_platform_build_asks_the_registry_nothing_twice(
        logged_registry: localregistry.RunningRegistry, tmp_path: Path) -> None:
    """The Dockerfile check (cli/buildrun.py ``_lint``: BuildKit's lint reads each base's config) runs
    on the build's own client and store: it resolves the base for the build, and the build reuses it.
    A cold build reads the tag (HEAD), the index, the platform's manifest, its config and its layer,
    each once; a warm one only HEADs the tag."""
    context = _base_and_context(logged_registry, tmp_path)
    args = ("build", "--progress", "plain", "--platform", "linux/amd64", str(context))
    fresh_store = {"DOCKYARD_ROOT": str(tmp_path / "cold-root")}  # the import filled the test's own store
    log = logged_registry.log
    start = log.stat().st_size
    dockyard(*args, env=fresh_store)
    cold = [r for r in _requests(log, start) if "/manifests/" in r or "/blobs/" in r]
    assert len(cold) == len(set(cold)), cold
    kinds = sorted(r.split(" ")[0] + " " + r.split("/")[3] for r in cold)
    # HEAD tag; GET index, amd64 manifest; GET config, the one layer
    assert kinds == ["GET blobs", "GET blobs", "GET manifests", "GET manifests", "HEAD manifests"], cold

    start = log.stat().st_size
    dockyard(*args, env=fresh_store)
    warm = [r for r in _requests(log, start) if "/manifests/" in r or "/blobs/" in r]
    assert warm == ["HEAD /v2/busybox/manifests/latest"]

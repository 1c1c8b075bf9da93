"""Several registries: everything by digest everywhere first, verified, then tags; a registry that
fails leaves no tag in any registry and is named; --push-retry retries it. The failing registry
is a real one behind a fault-injecting proxy (or an address nothing listens on)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import RegistryError
from dockyard.exporters.multipush import push_everywhere
from dockyard.exporters.output import PushTarget
from dockyard.reference import Reference
from dockyard.registry import Client, Keychain, RetryPolicy, TransportOptions
from tests.integration.build.buildrig import dockyard
from tests.integration.faultproxy import FaultProxy, Rule
from tests.integration.registryhelpers import busybox_index
from tests.integration.release.releaserig import list_tags, make_repo, raw_digest
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(registry: TestRegistry) -> Iterator[FaultProxy]:
    p = FaultProxy(registry.running.port).start()
    yield p
    p.stop()


def _client() -> Client:
    retry = RetryPolicy(attempts=1)  # the transport gives up at once: push-retry is what is tested
    return Client(keychain=Keychain(), transport=TransportOptions(retry=retry, connect_timeout=3, read_timeout=5))


def _targets(registry: TestRegistry, proxy: FaultProxy, repo: str) -> list[PushTarget]:
    return [PushTarget(reference=Reference.parse(f"{registry.address}/{repo}-a:v1"), tags=("latest",)),
            PushTarget(reference=Reference.parse(f"{proxy.address}/{repo}-b:v1"), tags=("latest",))]


def test_failing_registry_is_named_and_no_tag_moves_anywhere(
        registry: TestRegistry, proxy: FaultProxy, busybox_rootfs: dict[str, Path], tmp_path: Path) -> None:
    store, index = busybox_index(busybox_rootfs)
    proxy.rules = [Rule("PUT", "/manifests/sha256:", "503", times=None)]
    with _client() as client, pytest.raises(RegistryError) as info:
        push_everywhere(client, _targets(registry, proxy, "multi/fail"), index, store, retries=1)
    assert f"push to {proxy.address}/multi/fail-b failed" in info.value.message
    assert "no tag was moved in any registry" in info.value.message and info.value.registry == proxy.address
    assert proxy.rules[0].fired >= 2  # the first try and the retry
    assert list_tags(registry, "multi/fail-a") == set()
    assert list_tags(registry, "multi/fail-b") == set()


def test_push_retry_recovers_and_every_registry_serves_one_digest(
        registry: TestRegistry, proxy: FaultProxy, busybox_rootfs: dict[str, Path]) -> None:
    store, index = busybox_index(busybox_rootfs)
    proxy.rules = [Rule("PUT", "/manifests/sha256:", "503", times=1)]
    notes: list[str] = []
    with _client() as client:
        pushed = push_everywhere(client, _targets(registry, proxy, "multi/retry"), index, store, retries=2,
                                 notify=notes.append)
    assert [p.names for p in pushed] == [
        [f"{registry.address}/multi/retry-a:v1", f"{registry.address}/multi/retry-a:latest"],
        [f"{proxy.address}/multi/retry-b:v1", f"{proxy.address}/multi/retry-b:latest"]]
    assert len(notes) == 1 and "retry 1 of 2" in notes[0] and proxy.address in notes[0]
    for repo in ("multi/retry-a", "multi/retry-b"):
        assert list_tags(registry, repo) == {"v1", "latest"}
        assert raw_digest(registry, f"{registry.address}/{repo}:latest") == str(index.digest)


def _dead_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_build_to_a_dead_registry_tags_nothing(busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    dead = _dead_address()
    out = dockyard("build", "--progress", "plain", "--build-arg", f"BASE={busybox_base}", "-t",
                   f"{registry.address}/multi/cli:1", "-t", f"{dead}/multi/cli:1", "--push", str(repo), check=False)
    assert out.returncode == 1, out.stderr
    error = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and f"push to {dead}/multi/cli failed" in error[0]
    assert "no tag was moved in any registry" in error[0] and "Traceback" not in out.stderr
    assert list_tags(registry, "multi/cli") == set()

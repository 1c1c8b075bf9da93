"""Pushes through a fault-injecting proxy: 503s, 429 + Retry-After, a reset mid-PATCH, a stall.

The push must complete with byte-identical content; when the faults never stop, the error must
be clear and the tag must still name what it named before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.oci.source import walk
from dockyard.platform import Platform
from dockyard.registry import Client, HostsConfig, Keychain, RetryPolicy, TransportOptions, UploadOptions
from dockyard.registry.errors import ServerError, UnreachableError
from dockyard.store.content import ContentStore
from tests.integration.faultproxy import FaultProxy, Rule
from tests.integration.registryhelpers import busybox_index, skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def proxy(registry: TestRegistry) -> Iterator[FaultProxy]:
    p = FaultProxy(registry.running.port, stall_seconds=3.0).start()
    yield p
    p.stop()


def _client(*, attempts: int = 6, sleeps: list[float] | None = None) -> Client:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(seconds)

    policy = RetryPolicy(attempts=attempts, base=0.05, cap=0.5, sleep=sleep)
    return Client(hosts=HostsConfig(), keychain=Keychain(),
                  transport=TransportOptions(retry=policy, read_timeout=1.5),
                  upload=UploadOptions(chunk_size=256 << 10), concurrency=2)


def test_push_survives_every_fault_byte_identical(proxy: FaultProxy, registry: TestRegistry,
                                                  busybox_rootfs: dict[str, Path]) -> None:
    proxy.rules = [
        Rule("POST", "/blobs/uploads/", "503"),
        Rule("PATCH", "/blobs/uploads/", "429"),
        Rule("PATCH", "/blobs/uploads/", "reset", skip=1, min_length=200_000),
        Rule("PATCH", "/blobs/uploads/", "stall", skip=1, min_length=200_000),
        Rule("PUT", "/blobs/uploads/", "503"),
        Rule("PUT", "/manifests/", "503", times=2),
        Rule("HEAD", "/blobs/", "stall"),
    ]
    sleeps: list[float] = []
    store, desc = busybox_index(busybox_rootfs)
    with _client(sleeps=sleeps) as client:
        try:
            client.push(f"{proxy.address}/faulty/busybox:v1", desc, store)
        finally:
            print("\n".join(proxy.requests))
    assert all(rule.fired == (rule.times or 1) for rule in proxy.rules), proxy.rules
    assert 1.0 in sleeps  # the 429's Retry-After was honoured
    assert any("GET /v2/faulty/busybox/blobs/uploads/" in r for r in proxy.requests)  # asked for Range
    # byte-identical: the index via skopeo, every blob straight from the registry (not through the proxy)
    ref = f"{registry.address}/faulty/busybox:v1"
    assert skopeo_raw(ref) == store.read_bytes(desc.digest)
    _, _, parts = walk(store, desc)
    for digest in parts:
        got = httpx.get(f"http://{registry.address}/v2/faulty/busybox/blobs/{digest}")
        assert got.status_code == 200 and got.content == store.read_bytes(digest)


@pytest.mark.parametrize("case", [("503", ServerError), ("reset", UnreachableError)], ids=["503", "reset"])
def test_endless_faults_fail_clearly_and_move_no_tag(proxy: FaultProxy, registry: TestRegistry,
                                                    busybox_rootfs: dict[str, Path], tmp_path: Path,
                                                    case: tuple[str, type[Exception]]) -> None:
    action, error = case
    ref = f"{registry.address}/endless/busybox-{action}:v1"
    old_store, old = busybox_index(busybox_rootfs, ContentStore(tmp_path / "old"))
    with _client() as client:
        client.push(ref, old, old_store)  # the tag names a complete image before the faulty push
    before = skopeo_raw(ref)
    new_store, new = busybox_index({"amd64": busybox_rootfs["arm64"], "arm64": busybox_rootfs["amd64"]},
                                   ContentStore(tmp_path / "new"))
    assert new.digest != old.digest
    # every upload request that carries bytes fails: PATCHes, and the PUT a small blob is sent whole in
    proxy.rules = [Rule("PATCH", "/blobs/uploads/", action, times=None),
                   Rule("PUT", "/blobs/uploads/", action, times=None)]
    with _client(attempts=3) as client, pytest.raises(error) as info:
        client.push(f"{proxy.address}/endless/busybox-{action}:v1", new, new_store)
    message = str(info.value)
    assert proxy.address in message and "push blob" in message
    assert skopeo_raw(ref) == before


def test_pull_resumes_a_cut_download(proxy: FaultProxy, registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                     tmp_path: Path) -> None:
    store, desc = busybox_index(busybox_rootfs)
    with _client() as client:
        client.push(f"{registry.address}/cut/busybox:v1", desc, store)
    proxy.rules = [Rule("GET", "/blobs/sha256:", "cut", times=2)]
    pulled = ContentStore(tmp_path / "pulled")
    with _client() as client:
        image = client.pull(f"{proxy.address}/cut/busybox:v1", platform=Platform.parse("arm64"), store=pulled)
    assert proxy.rules[0].fired == 2
    assert any(r.endswith("[range]") for r in proxy.requests)  # continued, not started over
    for layer in image.manifest.layers:
        assert pulled.read_bytes(layer.digest) == store.read_bytes(layer.digest)

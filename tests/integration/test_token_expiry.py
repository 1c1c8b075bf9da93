"""A push that outlives its 2-second Bearer tokens still succeeds (buildx#3977 must not happen here)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from dockyard.registry import TransportOptions, UploadOptions
from tests.integration.registryhelpers import busybox_index, client_for, skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("token_lifetime")]


class SlowPatches(httpx.HTTPTransport):
    """Real HTTP, but each upload chunk waits first: the push takes several token lifetimes."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.unauthorized = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            time.sleep(self.delay)
        response = super().handle_request(request)
        if response.status_code == 401:
            self.unauthorized += 1
        return response


@pytest.mark.parametrize("advertised", [None, 300.0], ids=["honest-expiry", "token-dies-early"])
def test_push_outlives_two_second_tokens(token_registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                         advertised: float | None) -> None:
    server = token_registry.token_server
    assert server is not None
    server.lifetime = 2
    server.advertised_lifetime = advertised  # 300: the client believes the token lives on; the registry refuses
    store, desc = busybox_index(busybox_rootfs)
    slow = SlowPatches(0.35)
    issued_before = server.issued
    ref = f"{token_registry.address}/team/slow-{'a' if advertised is None else 'b'}:v1"
    started = time.monotonic()
    with client_for(token_registry, transport=TransportOptions(transport=slow),
                    upload=UploadOptions(chunk_size=192 << 10), concurrency=1) as client:
        client.push(ref, desc, store)
    elapsed = time.monotonic() - started
    assert elapsed > 4.5, "the push must outlive at least two token lifetimes"
    assert server.issued - issued_before >= 3
    if advertised is not None:
        assert slow.unauthorized >= 1  # renewed because the registry refused, not because of the clock
    assert skopeo_raw(ref, token_registry) == store.read_bytes(desc.digest)

"""``Client.connect_early``: a build pings its push registries while it runs (issue 17: overlap the
build check with the push's first round trips); the push then starts with its first HEAD, and a
registry that cannot be reached fails the first real request with the registry's name (the early
ping's failure is not kept: a registry that comes up meanwhile, or a push retry, pings afresh)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dockyard.registry import Client, HostsConfig, Keychain, RetryPolicy, TransportOptions
from dockyard.registry.errors import UnreachableError
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.test_client_faults import HOST, _image


def _wait_for(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the background ping never happened"
        time.sleep(0.01)


def test_the_push_reuses_the_early_ping(tmp_path: Path) -> None:
    fake = FakeRegistry()
    store, desc = _image(tmp_path)
    with Client(hosts=HostsConfig(), keychain=Keychain(),
                transport=TransportOptions(transport=fake.transport())) as client:
        client.for_build().connect_early([HOST, HOST])
        _wait_for(lambda: "GET /v2/" in fake.log)
        pings = len(fake.log)
        client.push(f"{HOST}/app:v1", desc, store)
    assert fake.log.count("GET /v2/") == 1  # once, in the background, for both names of the host
    assert fake.log[pings].startswith("HEAD /v2/app/blobs/")  # the push began with its first blob


def test_an_unreachable_registry_fails_the_first_request_naming_it() -> None:
    unreachable = "127.0.0.1:9"  # the discard port: nothing listens on loopback
    options = TransportOptions(retry=RetryPolicy(attempts=1), connect_timeout=2)
    with Client(hosts=HostsConfig(), keychain=Keychain(), transport=options) as client:
        client.connect_early([unreachable])
        _wait_for(lambda: not any(t.name == f"ping {unreachable}" for t in threading.enumerate()))
        assert client._sessions[unreachable]._ping_error is None  # tried, failed, not kept
        with pytest.raises(UnreachableError, match=unreachable):  # pinged again: the failure is this request's
            client.resolve(f"{unreachable}/app:v1")

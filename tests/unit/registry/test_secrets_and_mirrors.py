"""Secrets never reach errors or logs; pulls try registries.toml mirrors first, then the origin."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from dockyard.errors import DockyardError, RegistryError
from dockyard.imagetools.importer import ImportOptions, import_index
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.registry import Client, Credentials, HostsConfig, Keychain, RetryPolicy, TransportOptions
from dockyard.registry.hosts import HostConfig
from dockyard.store.content import ContentStore
from tests.unit.registry.fakeregistry import FakeRegistry

PASSWORD = "pw-Sup3rSecret"
TOKEN = "tok-Sup3rSecret"


def _image(tmp_path: Path) -> tuple[ContentStore, Descriptor]:
    store = ContentStore(tmp_path / "s")
    tar = tmp_path / "r.tar"
    tar.write_bytes(b"x" * 5000)
    options = ImportOptions(created="2024-01-01T00:00:00Z")
    return store, import_index([(Platform.parse("amd64"), tar)], store, options=options)


def test_no_secret_in_errors_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeRegistry(token=TOKEN)
    fake.faults.append(lambda r: httpx.Response(403, json={"errors": [{"code": "DENIED", "message": "no push"}]})
                       if r.method == "POST" else None)
    store, desc = _image(tmp_path)
    chain = Keychain().with_static("r.test", Credentials("me", PASSWORD))
    client = Client(hosts=HostsConfig(), keychain=chain,
                    transport=TransportOptions(transport=fake.transport(), retry=RetryPolicy(sleep=lambda s: None)))
    caplog.set_level(logging.DEBUG)
    with client, pytest.raises(DockyardError) as info:
        client.push("r.test/app:v1", desc, store)
    err = info.value
    assert isinstance(err, RegistryError) and err.code == "DENIED"
    shown = f"{err} {err.hint} {err!r} {info.getrepr()}"
    logs = " ".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    for secret in (PASSWORD, TOKEN):
        assert secret not in shown
        assert secret not in logs
    assert fake.tokens_issued == 1  # the token was really in use


def test_pull_prefers_mirror_and_falls_back_to_origin(tmp_path: Path) -> None:
    origin, mirror = FakeRegistry(), FakeRegistry()
    store, desc = _image(tmp_path)

    def route(request: httpx.Request) -> httpx.Response:
        return (mirror if request.url.host == "mirror.test" else origin).handle(request)

    hosts = HostsConfig({"origin.test": HostConfig(mirrors=("mirror.test",))})
    opts = TransportOptions(transport=httpx.MockTransport(route), retry=RetryPolicy(sleep=lambda s: None))
    with Client(hosts=hosts, keychain=Keychain(), transport=opts) as client:
        client.push("mirror.test/app:v1", desc, store)
        mirror.log.clear()
        image = client.pull("origin.test/app:v1", platform=Platform.parse("amd64"), store=ContentStore(tmp_path / "a"))
        assert image.config.architecture == "amd64"
        assert origin.log == [] or all(line.split()[1] == "/v2/" for line in origin.log)
        assert any("/manifests/v1" in line for line in mirror.log)
        # the mirror lacks v2: the origin answers
        client.push("origin.test/app:v2", desc, store)
        assert client.resolve("origin.test/app:v2").digest == desc.digest

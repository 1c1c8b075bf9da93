"""The client against an in-memory registry: push order, retries, resumed uploads, token renewal."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from dockyard.digest import Digest
from dockyard.imagetools.importer import ImportOptions, import_index
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.registry import Client, HostsConfig, Keychain, RetryPolicy, TransportOptions, UploadOptions
from dockyard.registry.errors import ServerError
from dockyard.store.content import ContentStore
from tests.unit.registry.fakeregistry import FakeRegistry

HOST = "fake.test"


def _image(tmp_path: Path, size: int = 300_000) -> tuple[ContentStore, Descriptor]:
    store = ContentStore(tmp_path / "store")
    tars = []
    for arch in ("amd64", "arm64"):
        path = tmp_path / f"{arch}.tar"
        path.write_bytes(os.urandom(size))
        tars.append((Platform.parse(arch), path))
    return store, import_index(tars, store, options=ImportOptions(created="2024-01-01T00:00:00Z",
                                                                   compression_level=0))


def _sleeps() -> list[float]:
    return []


def _client(fake: FakeRegistry, sleeps: list[float], *, attempts: int = 6, chunk: int | None = 64 << 10) -> Client:
    return Client(hosts=HostsConfig(), keychain=Keychain(),
                  transport=TransportOptions(transport=fake.transport(),
                                             retry=RetryPolicy(attempts=attempts, sleep=sleeps.append)),
                  upload=UploadOptions(chunk_size=chunk), concurrency=2)


def test_push_puts_tags_last_and_pull_reads_back(tmp_path: Path) -> None:
    fake, sleeps = FakeRegistry(), _sleeps()
    store, desc = _image(tmp_path)
    with _client(fake, sleeps) as client:
        client.push(f"{HOST}/app:v1", desc, store, tags=["latest"])
        puts = [line for line in fake.log if line.startswith("PUT")]
        assert puts[-2:] == ["PUT /v2/app/manifests/v1", "PUT /v2/app/manifests/latest"]
        # every blob and both platform manifests before the first tag, whose PUT stores the index
        # (BuildKit's order: containerd PUTs the root by its tag); nothing else PUTs the index
        assert [line.split("/")[3] for line in puts] == ["blobs"] * 4 + ["manifests"] * 4
        assert all(line.startswith("PUT /v2/app/manifests/sha256:") for line in puts[4:6])
        assert f"PUT /v2/app/manifests/{desc.digest}" not in puts
        assert fake.manifests[("app", "v1")][1] == store.read_bytes(desc.digest)
        image = client.pull(f"{HOST}/app:v1", platform=Platform.parse("arm64"), store=ContentStore(tmp_path / "p"))
        assert image.config.architecture == "arm64"
        assert image.index == desc
        again = client.push(f"{HOST}/app:v2", desc, store)  # everything exists: only HEADs and manifests
    assert again == desc
    assert sleeps == []


def test_503_and_429_are_retried_honouring_retry_after(tmp_path: Path) -> None:
    fake, sleeps = FakeRegistry(), _sleeps()
    store, desc = _image(tmp_path)
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response | None:
        if request.method in ("PATCH", "PUT"):
            calls["n"] += 1
            if calls["n"] == 1:
                return httpx.Response(503)
            if calls["n"] == 3:
                return httpx.Response(429, headers={"Retry-After": "7"})
        return None

    fake.faults.append(flaky)
    with _client(fake, sleeps) as client:
        client.push(f"{HOST}/app:v1", desc, store)
    assert 7.0 in sleeps
    assert fake.manifests[("app", "v1")][1] == store.read_bytes(desc.digest)


def test_reset_mid_patch_resumes_from_the_registry_range(tmp_path: Path) -> None:
    fake, sleeps = FakeRegistry(), _sleeps()
    store, desc = _image(tmp_path, size=500_000)
    state = {"done": False}

    def reset_after_half(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PATCH" and not state["done"]:
            state["done"] = True
            upload_id = request.url.path.rsplit("/", 1)[-1]
            body = request.read()
            fake.uploads[upload_id] += body[: len(body) // 2]  # the registry kept half, then the line dropped
            raise httpx.ReadError("connection reset by peer")
        return None

    fake.faults.append(reset_after_half)
    with _client(fake, sleeps) as client:
        client.push(f"{HOST}/app:v1", desc, store)
    assert any(line.startswith("GET /v2/app/blobs/uploads/") for line in fake.log)
    for digest, data in fake.blobs.items():  # byte-identical to what was pushed
        assert data == store.read_bytes(Digest.parse(digest))
    assert len(fake.blobs) == 4  # two layers, two configs


def test_endless_faults_give_a_clear_error_and_move_no_tag(tmp_path: Path) -> None:
    fake, sleeps = FakeRegistry(), _sleeps()
    store, desc = _image(tmp_path)
    fake.faults.append(lambda r: httpx.Response(503) if r.method == "PATCH" else None)
    with _client(fake, sleeps, attempts=3) as client, pytest.raises(ServerError) as info:
        client.push(f"{HOST}/app:v1", desc, store)
    assert "503" in info.value.message and HOST in info.value.message
    assert not [k for k in fake.manifests if k[1] == "v1"]


def test_token_is_fetched_and_renewed_when_refused(tmp_path: Path) -> None:
    fake, sleeps = FakeRegistry(token="t1"), _sleeps()
    store, desc = _image(tmp_path)
    count = {"patches": 0}

    def rotate(request: httpx.Request) -> httpx.Response | None:
        if request.method == "PATCH":
            count["patches"] += 1
            if count["patches"] == 3:
                fake.token = "t2"  # the registry stops accepting t1 in the middle of the push
        return None

    fake.faults.append(rotate)
    with _client(fake, sleeps, chunk=32 << 10) as client:
        client.push(f"{HOST}/app:v1", desc, store)
    assert fake.tokens_issued >= 2
    assert fake.manifests[("app", "v1")][1] == store.read_bytes(desc.digest)

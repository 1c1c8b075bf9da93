"""The order of a push's requests (issue 17, the push2 bench): a blob bigger than all the others
together opens its upload before any other blob is touched; one repository with one tag puts the
index once, under its tag, after every part (as containerd's remotes/docker/pusher.go
``getManifestPath`` does for the root BuildKit pushes: the tag's path, not the digest's); several
tags or repositories keep the two phases (everything by digest, checked, then the tags)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from dockyard.exporters.multipush import push_everywhere
from dockyard.exporters.output import PushTarget
from dockyard.imagetools.importer import ImportOptions, import_index
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.source import walk
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry import Client, HostsConfig, Keychain, TransportOptions
from dockyard.store.content import ContentStore
from tests.unit.registry.fakeregistry import FakeRegistry

HOST = "fake.test"


def _image(tmp_path: Path, sizes: dict[str, int]) -> tuple[ContentStore, Descriptor]:
    store = ContentStore(tmp_path / "store")
    tars = []
    for arch, size in sizes.items():
        path = tmp_path / f"{arch}.tar"
        path.write_bytes(os.urandom(size))
        tars.append((Platform.parse(arch), path))
    return store, import_index(tars, store, options=ImportOptions(created="2024-01-01T00:00:00Z",
                                                                   compression_level=0))


def _client(fake: FakeRegistry) -> Client:
    return Client(hosts=HostsConfig(), keychain=Keychain(), transport=TransportOptions(transport=fake.transport()),
                  concurrency=4)


def test_the_dominant_blob_opens_its_upload_before_any_other_blob(tmp_path: Path) -> None:
    store, desc = _image(tmp_path, {"amd64": 3 << 20, "arm64": 20_000})
    big = max(walk(store, desc)[2].values(), key=lambda d: d.size)
    fake = FakeRegistry()

    def slow_check(request: httpx.Request) -> None:
        if request.method == "HEAD" and request.url.path.endswith(str(big.digest)):
            time.sleep(0.3)  # a slow answer: without the head start the other blobs would go meanwhile

    fake.faults.append(slow_check)
    with _client(fake) as client:
        client.push(f"{HOST}/app:v1", desc, store)
    blob_requests = [line for line in fake.log if "/blobs/" in line]
    # the others start as its bytes go out (in the committing PUT), so their requests may come next
    assert blob_requests[:2] == [f"HEAD /v2/app/blobs/{big.digest}", "POST /v2/app/blobs/uploads/"]
    assert sum(line.startswith("PUT /v2/app/blobs/uploads/") for line in blob_requests) == 4  # no PATCH
    assert len(fake.blobs) == 4 and fake.blobs[str(big.digest)] == store.read_bytes(big.digest)


def test_one_repository_one_tag_puts_the_index_once_under_the_tag(tmp_path: Path) -> None:
    store, desc = _image(tmp_path, {"amd64": 50_000, "arm64": 50_000})
    fake = FakeRegistry()
    target = PushTarget(reference=Reference.parse(f"{HOST}/app:v1"))
    with _client(fake) as client:
        pushed = push_everywhere(client, [target], desc, store)
    assert [p.names for p in pushed] == [[f"{HOST}/app:v1"]]
    manifests = [line for line in fake.log if "/manifests/" in line]
    assert len(manifests) == 3 and manifests[-1] == "PUT /v2/app/manifests/v1"
    assert all(line.startswith("PUT /v2/app/manifests/sha256:") for line in manifests[:2])
    assert fake.log.index(manifests[0]) > max(i for i, line in enumerate(fake.log) if "/blobs/" in line)
    assert fake.manifests[("app", "v1")][1] == store.read_bytes(desc.digest)
    assert fake.manifests[("app", str(desc.digest))][1] == store.read_bytes(desc.digest)


def test_two_tags_keep_the_phases_index_by_digest_checked_then_tags(tmp_path: Path) -> None:
    store, desc = _image(tmp_path, {"amd64": 50_000, "arm64": 50_000})
    fake = FakeRegistry()
    target = PushTarget(reference=Reference.parse(f"{HOST}/app:v1"), tags=("latest",))
    with _client(fake) as client:
        push_everywhere(client, [target], desc, store)
    manifests = [line for line in fake.log if "/manifests/" in line]
    assert manifests[-4:] == [f"PUT /v2/app/manifests/{desc.digest}", f"HEAD /v2/app/manifests/{desc.digest}",
                              "PUT /v2/app/manifests/v1", "PUT /v2/app/manifests/latest"]

"""Attestation storage: buildx's index layout, and OCI 1.1 referrers through the API or the tag schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.attest import found
from dockyard.attest.intoto import MEDIA_TYPE, SLSA_PREDICATE, SPDX_PREDICATE, Statement
from dockyard.attest.storage import Storage, attach
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.hosts import HostsConfig
from dockyard.registry.keychain import Keychain
from dockyard.registry.options import TransportOptions
from dockyard.registry.referrers import fallback_tag
from dockyard.registry.retry import RetryPolicy
from dockyard.store.content import ContentStore
from tests.unit.registry.fakeregistry import FakeRegistry
from tests.unit.registry.ocischema import validate

AMD64, ARM64 = Platform("linux", "amd64"), Platform("linux", "arm64")
REF = Reference.parse("reg.test/team/app:1.0")


def _image(store: ContentStore, platform: Platform) -> Descriptor:
    layer = f"layer of {platform}".encode()
    store.ingest_bytes(layer)
    config = canonical.encode({"architecture": platform.architecture, "os": platform.os,
                               "rootfs": {"type": "layers", "diff_ids": []}})
    store.ingest_bytes(config)
    manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config),
                        layers=(Descriptor.of_bytes(mediatypes.OCI_LAYER, layer),))
    store.ingest_bytes(manifest.to_bytes())
    return manifest.descriptor(platform=platform)


def _statements(manifests: dict[Platform, Descriptor]) -> dict[Platform, list[Statement]]:
    return {p: [Statement(subject_name=f"pkg:docker/app@1.0?platform={p}", subject_digest=d.digest,
                          predicate_type=t, predicate={"for": str(p)})
                for t in (SPDX_PREDICATE, SLSA_PREDICATE)] for p, d in manifests.items()}


def _client(fake: FakeRegistry) -> Client:
    return Client(hosts=HostsConfig(), keychain=Keychain(), concurrency=1,
                  transport=TransportOptions(transport=fake.transport(), retry=RetryPolicy(attempts=1)))


def test_index_storage_is_buildx_layout(tmp_path: Path) -> None:
    """BuildKit docs/attestations/attestation-storage.md; buildx's reader: util/imagetools/loader.go."""
    store = ContentStore(tmp_path)
    manifests = {p: _image(store, p) for p in (AMD64, ARM64)}
    result = attach(store, manifests=manifests, statements=_statements(manifests), storage=Storage.INDEX)
    assert result.referrers == ()
    validate("image-index-schema.json", store.read_bytes(result.top.digest))
    index = Index.from_bytes(store.read_bytes(result.top.digest))
    assert [str(e.platform) for e in index.manifests] == ["linux/amd64", "linux/arm64", "unknown/unknown",
                                                          "unknown/unknown"]
    assert index.platforms() == [AMD64, ARM64]  # readers that skip attestations see two platforms
    for entry, subject in zip(index.manifests[2:], manifests.values(), strict=True):
        assert entry.annotations == {"vnd.docker.reference.digest": str(subject.digest),
                                     "vnd.docker.reference.type": "attestation-manifest"}
        validate("image-manifest-schema.json", store.read_bytes(entry.digest))
        manifest = Manifest.from_bytes(store.read_bytes(entry.digest))
        assert [layer.media_type for layer in manifest.layers] == [MEDIA_TYPE, MEDIA_TYPE]
        assert [layer.annotations["in-toto.io/predicate-type"] for layer in manifest.layers] == \
            [SPDX_PREDICATE, SLSA_PREDICATE]
        config = json.loads(store.read_bytes(manifest.config.digest))
        assert (config["architecture"], config["os"]) == ("unknown", "unknown")
        statement = json.loads(store.read_bytes(manifest.layers[0].digest))
        assert statement["subject"][0]["digest"] == {"sha256": subject.digest.hex}


def test_the_assembled_index_annotations_stay(tmp_path: Path) -> None:
    """``--annotation index:...`` is on the assembled index; attaching attestations keeps it (BuildKit
    writes the index annotations on the index it exports, attestations included)."""
    store = ContentStore(tmp_path)
    manifests = {p: _image(store, p) for p in (AMD64, ARM64)}
    for storage in (Storage.INDEX, Storage.REFERRERS):
        result = attach(store, manifests=manifests, statements=_statements(manifests), storage=storage,
                        annotations={"org.opencontainers.image.version": "1.2.3"})
        index = Index.from_bytes(store.read_bytes(result.top.digest))
        assert index.annotations == {"org.opencontainers.image.version": "1.2.3"}


def test_referrers_storage_keeps_the_index_to_platforms(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    manifests = {p: _image(store, p) for p in (AMD64, ARM64)}
    result = attach(store, manifests=manifests, statements=_statements(manifests), storage=Storage.REFERRERS)
    index = Index.from_bytes(store.read_bytes(result.top.digest))
    assert [e.digest for e in index.manifests] == [d.digest for d in manifests.values()]
    assert len(result.referrers) == 4
    for artifact in result.referrers:
        validate("image-manifest-schema.json", artifact.to_bytes())  # OCI 1.1: artifactType and subject
        assert artifact.artifact_type == MEDIA_TYPE
        assert artifact.config.media_type == mediatypes.OCI_EMPTY and artifact.config.size == 2
        assert artifact.subject is not None and artifact.subject.digest in {d.digest for d in manifests.values()}


@pytest.mark.parametrize("api", [True, False], ids=["referrers-api", "tag-schema"])
def test_referrers_push_and_find(tmp_path: Path, api: bool) -> None:
    store = ContentStore(tmp_path)
    manifests = {p: _image(store, p) for p in (AMD64, ARM64)}
    result = attach(store, manifests=manifests, statements=_statements(manifests), storage=Storage.REFERRERS)
    fake = FakeRegistry(referrers_api=api)
    with _client(fake) as client:
        client.push(REF, result.top, store)
        indexed = [client.push_referrer(REF, artifact, store) for artifact in result.referrers]
        assert indexed == [api] * 4
        tags = {ident for repo, ident in fake.manifests if not ident.startswith("sha256:")}
        fallback = {fallback_tag(d.digest) for d in manifests.values()}
        assert tags == ({"1.0"} if api else {"1.0"} | fallback)
        images = found.find(client, REF, store=ContentStore(tmp_path / "reader"))
    assert [img.platform for img in images] == [AMD64, ARM64]
    for img in images:
        assert sorted(a.statement.predicate_type for a in img.attestations) == [SLSA_PREDICATE, SPDX_PREDICATE]
        assert {a.storage for a in img.attestations} == {"referrers"}
        assert all(a.statement.predicate == {"for": str(img.platform)} for a in img.attestations)


def test_index_storage_found_after_push(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    manifests = {p: _image(store, p) for p in (AMD64, ARM64)}
    result = attach(store, manifests=manifests, statements=_statements(manifests), storage=Storage.INDEX)
    with _client(FakeRegistry()) as client:
        client.push(REF, result.top, store)
        images = found.find(client, REF, store=ContentStore(tmp_path / "reader"))
    assert [img.platform for img in images] == [AMD64, ARM64]
    assert all(len(img.attestations) == 2 and img.attestations[0].storage == "index" for img in images)


def test_attestation_moved_to_another_image_is_refused(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    manifests = {p: _image(store, p) for p in (AMD64, ARM64)}
    swapped = {AMD64: _statements(manifests)[ARM64], ARM64: _statements(manifests)[AMD64]}
    result = attach(store, manifests=manifests, statements=swapped, storage=Storage.INDEX)
    with _client(FakeRegistry()) as client:
        client.push(REF, result.top, store)
        with pytest.raises(Exception, match="attestation is about"):
            found.find(client, REF, store=ContentStore(tmp_path / "reader"))

"""Sigstore bundle signatures as OCI 1.1 referrers on the fake registry: through the referrers API
(``referrers_api=True``, which Distribution 2.8 lacks) and the referrers tag schema, and every way
verification must fail. The shape is cosign's (cmd/cosign/cli/sign/sign.go ``signDigestBundle``,
pkg/oci/remote/write.go ``WriteAttestationNewBundleFormat``, specs/BUNDLE_SPEC.md)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.digest import Digest
from dockyard.errors import VerificationError
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.signing import bundle, keys
from dockyard.signing.image import verify_signature
from dockyard.store.content import ContentStore
from tests.unit.attest.test_storage import _client, _image
from tests.unit.registry.fakeregistry import FakeRegistry

REF = Reference.parse("reg.test/team/app:1.0")


def _setup(tmp_path: Path, *, api: bool) -> tuple[FakeRegistry, ContentStore, Descriptor, ec.EllipticCurvePrivateKey]:
    store = ContentStore(tmp_path / "store")
    image = _image(store, Platform("linux", "amd64"))
    fake = FakeRegistry(referrers_api=api)
    with _client(fake) as client:
        client.push(REF, image, store)
    return fake, store, image, ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("api", [True, False], ids=["referrers-api", "tag-schema"])
def test_bundle_referrer_signs_and_verifies(tmp_path: Path, api: bool) -> None:
    fake, store, image, key = _setup(tmp_path, api=api)
    with _client(fake) as client:
        (made,) = bundle.sign(client, REF, [image], key, store=store)
        listed = client.referrers(REF, image.digest, artifact_type=bundle.MEDIA_TYPE)
        assert [d.digest for d in listed] == [made]
        # the API path indexes it itself; the tag schema writes sha256-HEX (and only then)
        assert (("team/app", f"sha256-{image.digest.hex}") in fake.manifests) is not api
        manifest = Manifest.from_bytes(fake.manifests[("team/app", str(made))][1])
        assert manifest.artifact_type == bundle.MEDIA_TYPE and manifest.config.media_type == \
            "application/vnd.oci.empty.v1+json"
        assert manifest.subject == Descriptor(image.media_type, image.digest, image.size)
        assert manifest.annotations[bundle.CONTENT_ANNOTATION] == "dsse-envelope"
        (layer,) = manifest.layers
        assert layer.annotations["org.opencontainers.image.title"] == f"sha256-{layer.digest.hex}.sigstore.json"
        doc = json.loads(store.read_bytes(layer.digest))
        assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
        assert doc["verificationMaterial"] == {"publicKey": {"hint": bundle.key_hint(key.public_key())}}
        envelope = doc["dsseEnvelope"]
        statement = json.loads(base64.b64decode(envelope["payload"]))
        assert statement["subject"] == [{"digest": {"sha256": image.digest.hex}}]
        assert statement["predicateType"] == "https://sigstore.dev/cosign/sign/v1"
        signed = bundle.pae(envelope["payloadType"], base64.b64decode(envelope["payload"]))
        assert keys.verifies(key.public_key(), signed, base64.b64decode(envelope["signatures"][0]["sig"]))
        verify_signature(client, REF, image.digest, key.public_key(), store=ContentStore(tmp_path / "r"), what="image")
        stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
        with pytest.raises(VerificationError, match="signature does not verify with this key"):
            verify_signature(client, REF, image.digest, stranger, store=store, what="image")


def test_pae_is_dsse_v1() -> None:
    """DSSE protocol.md: PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    assert bundle.pae("a/b", b"hello") == b"DSSEv1 3 a/b 5 hello"


def test_altered_or_moved_bundle_fails(tmp_path: Path) -> None:
    fake, store, image, key = _setup(tmp_path, api=False)
    with _client(fake) as client:
        (made,) = bundle.sign(client, REF, [image], key, store=store)
        verify_signature(client, REF, image.digest, key.public_key(), store=store, what="image")
        media_type, data = fake.manifests[("team/app", str(made))]
        manifest = Manifest.from_bytes(data)
        doc = json.loads(store.read_bytes(manifest.layers[0].digest))
        body = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
        other = Digest.of_bytes(b"another manifest")
        body["subject"] = [{"digest": {"sha256": other.hex}}]
        doc["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
        altered = json.dumps(doc).encode()
        blob = Descriptor.of_bytes(bundle.MEDIA_TYPE, altered)
        fake.blobs[str(blob.digest)] = altered
        bad = Manifest(config=manifest.config, layers=(blob,), subject=manifest.subject,
                       artifact_type=manifest.artifact_type).to_bytes()
        bad_digest = Digest.of_bytes(bad)
        fake.manifests[("team/app", str(bad_digest))] = (media_type, bad)
        tag = ("team/app", f"sha256-{image.digest.hex}")
        fake.manifests[tag] = (fake.manifests[tag][0], Index(manifests=(
            Descriptor(media_type, bad_digest, len(bad), artifact_type=bundle.MEDIA_TYPE),)).to_bytes())
        with pytest.raises(VerificationError, match="does not verify with this key"):
            verify_signature(client, REF, image.digest, key.public_key(), store=store, what="image")
        with pytest.raises(VerificationError, match=r"no signature \(.*nor a sigstore bundle referrer\)"):
            verify_signature(client, REF, other, key.public_key(), store=store, what="image")


def test_valid_bundle_moved_onto_another_subject_fails(tmp_path: Path) -> None:
    """A referrer whose subject is another manifest but whose bundle signs the first: its statement decides."""
    fake, store, image, key = _setup(tmp_path, api=True)
    other = _image(store, Platform("linux", "arm64"))
    with _client(fake) as client:
        client.push(REF.with_tag("other"), other, store)
        genuine = bundle.artifact(store, image, key)
        moved = Manifest(config=genuine.config, layers=genuine.layers, artifact_type=genuine.artifact_type,
                         subject=Descriptor(other.media_type, other.digest, other.size))
        store.ingest_bytes(moved.to_bytes())
        client.push_referrer(REF, moved, store)
        with pytest.raises(VerificationError, match=f"signed bundle is about {image.digest}"):
            verify_signature(client, REF, other.digest, key.public_key(), store=store, what="image")


def test_a_listed_but_missing_referrer_does_not_hide_a_valid_one(tmp_path: Path) -> None:
    fake, store, image, key = _setup(tmp_path, api=False)
    with _client(fake) as client:
        bundle.sign(client, REF, [image], key, store=store)
        tag = ("team/app", f"sha256-{image.digest.hex}")
        listed = Index.from_bytes(fake.manifests[tag][1])
        gone = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.of_bytes(b"gone"), 4,
                          artifact_type=bundle.MEDIA_TYPE)
        fake.manifests[tag] = (fake.manifests[tag][0], Index(manifests=(gone, *listed.manifests)).to_bytes())
        verify_signature(client, REF, image.digest, key.public_key(), store=store, what="image")
        fake.manifests[tag] = (fake.manifests[tag][0], Index(manifests=(gone,)).to_bytes())
        with pytest.raises(VerificationError, match="is listed but missing"):
            verify_signature(client, REF, image.digest, key.public_key(), store=store, what="image")

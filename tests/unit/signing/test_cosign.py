"""cosign's classic layout on a (fake) registry: sign, verify, and every way verification must fail."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.digest import Digest
from dockyard.errors import VerificationError
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.signing import cosign, keys
from dockyard.signing.image import verify_signature
from dockyard.store.content import ContentStore
from tests.unit.attest.test_storage import _client, _image
from tests.unit.registry.fakeregistry import FakeRegistry

REF = Reference.parse("reg.test/team/app:1.0")


def _signed(tmp_path: Path) -> tuple[FakeRegistry, Client, ContentStore, Digest, ec.EllipticCurvePrivateKey]:
    store = ContentStore(tmp_path / "store")
    image = _image(store, Platform("linux", "amd64"))
    fake = FakeRegistry()
    client = _client(fake)
    client.push(REF, image, store)
    key = ec.generate_private_key(ec.SECP256R1())
    cosign.sign(client, REF, [image.digest], key, store=store)
    return fake, client, store, image.digest, key


def test_sign_then_verify(tmp_path: Path) -> None:
    fake, client, store, digest, key = _signed(tmp_path)
    with client:
        tag = f"sha256-{digest.hex}.sig"
        assert ("team/app", tag) in fake.manifests
        signature_image = Manifest.from_bytes(fake.manifests[("team/app", tag)][1])
        assert [layer.media_type for layer in signature_image.layers] == \
            ["application/vnd.dev.cosign.simplesigning.v1+json"]
        verified = cosign.check(client, REF, digest, key.public_key(), store=ContentStore(tmp_path / "r"))
        assert isinstance(verified, cosign.Verified) and verified.identity == "reg.test/team/app"
        # signing again adds a signature; both stay (as cosign keeps several signatures of one digest)
        other = ec.generate_private_key(ec.SECP256R1())
        cosign.sign(client, REF, [digest], other, store=store)
        assert len(Manifest.from_bytes(fake.manifests[("team/app", tag)][1]).layers) == 2
        verify_signature(client, REF, digest, key.public_key(), store=store, what="image")
        verify_signature(client, REF, digest, other.public_key(), store=store, what="image")


def test_verify_fails_without_signature_with_another_key_or_a_moved_signature(tmp_path: Path) -> None:
    fake, client, store, digest, _key = _signed(tmp_path)
    with client:
        stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
        with pytest.raises(VerificationError, match="does not verify with this key"):
            verify_signature(client, REF, digest, stranger, store=store, what="image")
        unsigned = Digest.of_bytes(b"another manifest")
        with pytest.raises(VerificationError, match="no signature"):
            verify_signature(client, REF, unsigned, _key.public_key(), store=store, what="image")
        # a valid signature copied to another digest's tag: the payload names the first digest
        fake.manifests[("team/app", f"sha256-{unsigned.hex}.sig")] = fake.manifests[
            ("team/app", f"sha256-{digest.hex}.sig")]
        with pytest.raises(VerificationError, match="signed payload is about"):
            verify_signature(client, REF, unsigned, _key.public_key(), store=store, what="image")


def test_tampered_signature_annotation_fails(tmp_path: Path) -> None:
    fake, client, _store, digest, key = _signed(tmp_path)
    tag = ("team/app", f"sha256-{digest.hex}.sig")
    media_type, data = fake.manifests[tag]
    manifest = Manifest.from_bytes(data)
    layer = manifest.layers[0]
    raw = bytearray(base64.b64decode(layer.annotations[cosign.SIGNATURE_ANNOTATION]))
    raw[-1] ^= 1
    bad = Manifest(config=manifest.config, layers=(layer.with_annotations(
        {cosign.SIGNATURE_ANNOTATION: base64.b64encode(bytes(raw)).decode()}),))
    altered = bad.to_bytes()
    fake.manifests[tag] = fake.manifests[("team/app", str(Digest.of_bytes(altered)))] = (media_type, altered)
    # the same Client signed it: verify must read what the registry serves now, not what it wrote
    with client, pytest.raises(VerificationError, match="does not verify"):
        verify_signature(client, REF, digest, key.public_key(), store=ContentStore(tmp_path / "r"), what="image")


def test_key_file_round_trip_signs_verifiably(tmp_path: Path) -> None:
    pair = keys.generate(b"")
    (tmp_path / "k").write_bytes(pair.private_pem)
    (tmp_path / "p").write_bytes(pair.public_pem)
    private, public = keys.load_private(tmp_path / "k", b""), keys.load_public(tmp_path / "p")
    assert keys.verifies(public, b"x", keys.sign(private, b"x"))

"""cosign key files: encrypted PEM round trip, wrong password, plain PEM; signatures checked by openssl."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.digest import Digest
from dockyard.errors import SigningKeyError
from dockyard.signing import keys, payload


def test_generate_writes_cosign_encrypted_pem(tmp_path: Path) -> None:
    pair = keys.generate(b"s3cret")
    assert pair.private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    body = b"".join(pair.private_pem.splitlines()[1:-1])
    doc = json.loads(base64.b64decode(body))
    # go-securesystemslib encrypted.go's JSON: scrypt parameters, 32-byte salt, 24-byte secretbox nonce
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32
    assert doc["cipher"]["name"] == "nacl/secretbox" and len(base64.b64decode(doc["cipher"]["nonce"])) == 24
    (tmp_path / "cosign.key").write_bytes(pair.private_pem)
    (tmp_path / "cosign.pub").write_bytes(pair.public_pem)
    private = keys.load_private(tmp_path / "cosign.key", b"s3cret")
    public = keys.load_public(tmp_path / "cosign.pub")
    assert keys.public_pem(private.public_key()) == pair.public_pem
    signature = keys.sign(private, b"payload")
    assert keys.verifies(public, b"payload", signature)
    assert not keys.verifies(public, b"payloaD", signature)


def test_wrong_or_missing_password_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cosign.key").write_bytes(keys.generate(b"right").private_pem)
    with pytest.raises(SigningKeyError, match="wrong password") as caught:
        keys.load_private(tmp_path / "cosign.key", b"wrong")
    assert "right" not in caught.value.message
    with pytest.raises(SigningKeyError, match="encrypted and no password"):
        keys.load_private(tmp_path / "cosign.key", None)


def test_older_cosign_pem_type_and_plain_pem_keys(tmp_path: Path) -> None:
    pem = keys.generate(b"").private_pem.replace(b"SIGSTORE", b"COSIGN")
    (tmp_path / "old.key").write_bytes(pem)
    assert isinstance(keys.load_private(tmp_path / "old.key", b""), ec.EllipticCurvePrivateKey)
    plain = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    (tmp_path / "ec.key").write_bytes(plain)
    assert isinstance(keys.load_private(tmp_path / "ec.key", None), ec.EllipticCurvePrivateKey)
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "p384.key").write_bytes(other)
    with pytest.raises(SigningKeyError, match="not an ECDSA P-256 key"):
        keys.load_private(tmp_path / "p384.key", None)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is part of the base system")
def test_openssl_verifies_the_signature_over_the_payload(tmp_path: Path) -> None:
    pair = keys.generate(b"pw")
    (tmp_path / "cosign.key").write_bytes(pair.private_pem)
    (tmp_path / "cosign.pub").write_bytes(pair.public_pem)
    body = payload.make("reg.test/app", Digest.of_bytes(b"manifest"))
    (tmp_path / "payload.json").write_bytes(body)
    (tmp_path / "payload.sig").write_bytes(keys.sign(keys.load_private(tmp_path / "cosign.key", b"pw"), body))
    done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "payload.sig",
                           "payload.json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "Verified OK" in done.stdout
    (tmp_path / "payload.json").write_bytes(body.replace(b"reg.test", b"reg.tesT"))
    done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "payload.sig",
                           "payload.json"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode != 0


def test_payload_round_trip() -> None:
    digest = Digest.of_bytes(b"x")
    body = payload.make("reg.test/app", digest)
    assert json.loads(body) == {"critical": {"identity": {"docker-reference": "reg.test/app"},
                                             "image": {"docker-manifest-digest": str(digest)},
                                             "type": "cosign container image signature"}, "optional": None}
    assert payload.signed_digest(body) == ("reg.test/app", digest)

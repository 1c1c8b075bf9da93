"""``dockyard generate-key-pair``, ``sign`` and ``verify`` against the real Distribution registry,
with the signature checked independently by openssl and the registry read with skopeo and curl."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from dockyard.digest import Digest
from tests.integration.registryhelpers import dockyard, skopeo, skopeo_raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration
PASSWORD = "pw-9f3c"


def _curl(*args: str) -> bytes:
    return subprocess.run(["curl", "-fsS", *args], check=True, capture_output=True).stdout


def _put_manifest(registry: TestRegistry, repo: str, tag: str, data: bytes, media_type: str) -> None:
    subprocess.run(["curl", "-fsS", "-X", "PUT", "-H", f"Content-Type: {media_type}", "--data-binary", "@-",
                    f"http://{registry.address}/v2/{repo}/manifests/{tag}"], input=data, check=True,
                   capture_output=True)


def test_sign_verify_and_tampering(registry: TestRegistry, busybox_rootfs: dict[str, Path], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    ref = f"{registry.address}/supply/signed:1"
    dockyard("imagetools", "import", "-t", ref, "--platform", f"linux/amd64={busybox_rootfs['amd64']}",
             "--platform", f"linux/arm64={busybox_rootfs['arm64']}")
    dockyard("generate-key-pair")
    assert (tmp_path / "cosign.key").read_bytes().startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    assert (tmp_path / "cosign.key").stat().st_mode & 0o077 == 0
    again = dockyard("generate-key-pair", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr

    index = skopeo_raw(ref)
    top = Digest.of_bytes(index)
    platforms = [m["digest"] for m in json.loads(index)["manifests"]]
    signed = dockyard("sign", ref, "--key", "cosign.key").stdout.split()
    assert signed == ["signed", f"{registry.address}/supply/signed@{top}"] + [
        w for d in platforms for w in ("signed", f"{registry.address}/supply/signed@{d}")]
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{registry.address}/supply/signed"))["Tags"]
    assert {f"sha256-{top.hex}.sig", *(f"sha256-{d[7:]}.sig" for d in platforms)} <= set(tags)

    shown = dockyard("verify", ref, "--key", "cosign.pub").stdout
    assert f"verified index: {registry.address}/supply/signed@{top}" in shown
    assert "verified linux/arm64" in shown and "verified linux/amd64" in shown

    # independent check: the payload blob (curl) and the ECDSA signature from the annotation (openssl)
    sig_manifest = json.loads(skopeo_raw(f"{registry.address}/supply/signed:sha256-{top.hex}.sig"))
    layer = sig_manifest["layers"][0]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    payload = _curl(f"http://{registry.address}/v2/supply/signed/blobs/{layer['digest']}")
    assert json.loads(payload)["critical"]["image"]["docker-manifest-digest"] == str(top)
    (tmp_path / "payload.json").write_bytes(payload)
    (tmp_path / "payload.sig").write_bytes(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
    done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "payload.sig",
                           "payload.json"], capture_output=True, text=True)
    assert done.returncode == 0 and "Verified OK" in done.stdout

    # another key does not verify
    dockyard("generate-key-pair", "--output-key-prefix", "other")
    wrong = dockyard("verify", ref, "--key", "other.pub", check=False)
    assert wrong.returncode == 1 and "does not verify with this key" in wrong.stderr and "Traceback" not in wrong.stderr

    # one byte of an annotation changed, pushed under the tag: the tag now names an unsigned index
    doc = json.loads(index)
    doc["annotations"] = {"org.opencontainers.image.description": "altered"}
    altered = json.dumps(doc, separators=(",", ":")).encode()
    _put_manifest(registry, "supply/signed", "1", altered, doc["mediaType"])
    failed = dockyard("verify", ref, "--key", "cosign.pub", check=False)
    assert failed.returncode == 1
    assert f"no signature ({registry.address}/supply/signed:sha256-{Digest.of_bytes(altered).hex}.sig" in failed.stderr
    # and the old signature copied to the altered digest's tag still fails: its payload names the old digest
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{registry.address}/supply/signed:sha256-{top.hex}.sig",
           f"docker://{registry.address}/supply/signed:sha256-{Digest.of_bytes(altered).hex}.sig")
    moved = dockyard("verify", ref, "--key", "cosign.pub", check=False)
    assert moved.returncode == 1 and f"signed payload is about {top}" in moved.stderr


def test_wrong_password_is_one_line(registry: TestRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    dockyard("generate-key-pair")
    monkeypatch.setenv("COSIGN_PASSWORD", "not-it")
    done = dockyard("sign", f"{registry.address}/supply/none:1", "--key", "cosign.key", check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == "error: cosign.key: wrong password for the encrypted private key"
    assert "not-it" not in done.stderr and PASSWORD not in done.stderr


def _pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding, written out here from the DSSE spec (protocol.md), not imported."""
    return b"DSSEv1 " + str(len(payload_type)).encode() + b" " + payload_type.encode() + b" " + \
        str(len(body)).encode() + b" " + body


def test_bundle_format_through_the_referrers_tag_schema(registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sign --format bundle`` on Distribution 2.8 (no referrers API): cosign's bundle layout
    (specs/BUNDLE_SPEC.md) under the ``sha256-HEX`` tag, read with skopeo and curl, its DSSE signature
    checked by openssl; ``verify`` finds it, and fails for another key and for an altered index."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", PASSWORD)
    repo = "supply/bundled"
    ref = f"{registry.address}/{repo}:1"
    dockyard("imagetools", "import", "-t", ref, "--platform", f"linux/amd64={busybox_rootfs['amd64']}",
             "--platform", f"linux/arm64={busybox_rootfs['arm64']}")
    dockyard("generate-key-pair")
    index = skopeo_raw(ref)
    top = Digest.of_bytes(index)
    platforms = [m["digest"] for m in json.loads(index)["manifests"]]
    signed = dockyard("sign", ref, "--key", "cosign.key", "--format", "bundle").stdout.split()
    assert signed[1::2] == [f"{registry.address}/{repo}@{d}" for d in (str(top), *platforms)]
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{registry.address}/{repo}"))["Tags"]
    assert not any(t.endswith(".sig") for t in tags)
    assert {f"sha256-{top.hex}", *(f"sha256-{d[7:]}" for d in platforms)} <= set(tags)

    listed = json.loads(skopeo_raw(f"{registry.address}/{repo}:sha256-{top.hex}"))
    (entry,) = listed["manifests"]
    assert entry["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    artifact = json.loads(skopeo_raw(f"{registry.address}/{repo}@{entry['digest']}"))
    assert artifact["subject"]["digest"] == str(top) and artifact["config"]["mediaType"] == \
        "application/vnd.oci.empty.v1+json"
    doc = json.loads(_curl(f"http://{registry.address}/v2/{repo}/blobs/{artifact['layers'][0]['digest']}"))
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    envelope = doc["dsseEnvelope"]
    body = base64.b64decode(envelope["payload"])
    assert json.loads(body)["subject"] == [{"digest": {"sha256": top.hex}}]
    # independent check: the DSSE signature over PAE(payloadType, statement) with openssl
    (tmp_path / "pae.bin").write_bytes(_pae(envelope["payloadType"], body))
    (tmp_path / "bundle.sig").write_bytes(base64.b64decode(envelope["signatures"][0]["sig"]))
    done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "bundle.sig",
                           "pae.bin"], capture_output=True, text=True)
    assert done.returncode == 0 and "Verified OK" in done.stdout
    # the hint is base64 of SHA-256 over the public key's DER, computed here with openssl
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", "cosign.pub", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    assert doc["verificationMaterial"]["publicKey"]["hint"] == base64.b64encode(hashlib.sha256(der).digest()).decode()

    shown = dockyard("verify", ref, "--key", "cosign.pub").stdout
    assert f"verified index: {registry.address}/{repo}@{top}" in shown and "verified linux/arm64" in shown

    dockyard("generate-key-pair", "--output-key-prefix", "other")
    wrong = dockyard("verify", ref, "--key", "other.pub", check=False)
    assert wrong.returncode == 1 and "signature does not verify with this key" in wrong.stderr
    assert "Traceback" not in wrong.stderr

    doc = json.loads(index)
    doc["annotations"] = {"org.opencontainers.image.description": "altered"}
    altered = json.dumps(doc, separators=(",", ":")).encode()
    _put_manifest(registry, repo, "1", altered, doc["mediaType"])
    failed = dockyard("verify", ref, "--key", "cosign.pub", check=False)
    assert failed.returncode == 1 and "nor a sigstore bundle referrer" in failed.stderr

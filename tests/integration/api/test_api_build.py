"""``dockyard.build`` alone, no CLI: a two-platform build pushed to a real registry (checked with
skopeo), and an OCI layout export (checked with umoci), with typed progress events."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard import progress
from dockyard.executor import qemu
from tests.integration.build.buildrig import inspect_raw, unpack
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "app.txt").write_text("app\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {base}\nARG TARGETARCH\nARG VERSION\nCOPY app.txt /app.txt\n"
        'RUN echo "$TARGETARCH $VERSION" > /built && uname -m >> /built\nCMD ["cat", "/built"]\n')
    return ctx


def _raw(ref: str) -> dict[str, Any]:
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True,
                         capture_output=True).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def test_two_platforms_built_and_pushed_through_the_api(busybox_base: str, registry: TestRegistry,
                                                        binfmt_arm64: qemu.Emulator, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    ref = f"{registry.address}/api/app:1.2.3"
    events: list[progress.Event] = []
    result = dockyard.build(ctx, platforms=["linux/amd64", "linux/arm64"], tags=[ref], push=True,
                            build_args={"VERSION": "1.2.3"}, labels={"org.example.team": "yard"},
                            metadata_file=tmp_path / "meta.json", progress=events.append)

    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True,
                         capture_output=True).stdout
    assert result.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    index = json.loads(raw)
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == ["amd64", "arm64"]
    assert result.platforms == ("linux/amd64", "linux/arm64")
    assert result.pushed == (f"{registry.address}/api/app@{result.digest}",)
    assert result.metadata["containerimage.digest"] == result.digest
    assert json.loads((tmp_path / "meta.json").read_text())["containerimage.digest"] == result.digest
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, _ = unpack(ref, arch, tmp_path / "u")
        assert (rootfs / "built").read_text().split() == [arch, "1.2.3", machine]
    assert inspect_raw(ref, config=True)["config"]["Labels"]["org.example.team"] == "yard"
    # typed events: every step started and finished, and the push was announced
    assert any(isinstance(e, progress.Started) and "RUN" in e.name for e in events)
    assert any(isinstance(e, progress.Done) for e in events)
    assert any(isinstance(e, progress.Notice) and e.message.startswith("pushed ") for e in events)


def test_oci_layout_export_through_the_api_unpacks_with_umoci(busybox_base: str, registry: TestRegistry,
                                                             tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    layout = tmp_path / "layout"
    result = dockyard.build(str(ctx), platforms="linux/amd64", outputs=f"type=oci,dest={layout},tar=false",
                            tags="example.invalid/app:1", build_args={"VERSION": "9"})
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == result.digest
    assert result.pushed == ()
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:1", str(bundle)], check=True, capture_output=True)
    assert (bundle / "rootfs" / "built").read_text().split() == ["amd64", "9", "x86_64"]
    assert (bundle / "rootfs" / "app.txt").read_text() == "app\n"


def test_a_failing_step_is_a_build_error_and_nothing_is_pushed(busybox_base: str, registry: TestRegistry,
                                                               tmp_path: Path) -> None:
    ctx = tmp_path / "bad"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN exit 3\n")
    ref = f"{registry.address}/api/bad:1"
    with pytest.raises(dockyard.BuildError) as info:
        dockyard.build(ctx, tags=ref, push=True)
    assert "Dockerfile:2" in str(info.value)
    missing = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                             capture_output=True)
    assert missing.returncode != 0


def test_attestations_annotations_signing_and_push_options_through_the_api(
        busybox_base: str, registry: TestRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flags that were CLI-only until issue 12 §3: --sbom, --provenance, --annotation, --sign,
    --push-retry, --push-timeout and --placement, by their python names; the index is read back
    with skopeo and the signature checked with openssl."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", "api-pw-4d1")
    dockyard.generate_key_pair()  # cosign.key, cosign.pub; the password from COSIGN_PASSWORD
    ctx = _context(tmp_path, busybox_base)
    repo = "api/attested"
    ref = f"{registry.address}/{repo}:1"
    result = dockyard.build(ctx, platforms="linux/amd64", tags=ref, push=True, build_args={"VERSION": "2"},
                            sbom=True, provenance="mode=max", annotations=["manifest:org.example.release=r1"],
                            sign="key=cosign.key", push_retry=1, push_timeout="5m", placement="prefer-native")
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True,
                         capture_output=True).stdout
    index = json.loads(raw)
    assert result.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    attestations = [m for m in index["manifests"]
                    if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"]
    assert len(attestations) == 1 and len(index["manifests"]) == 2
    image = next(m for m in index["manifests"] if m not in attestations)
    assert _raw(f"{registry.address}/{repo}@{image['digest']}")["annotations"]["org.example.release"] == "r1"
    manifest = _raw(f"{registry.address}/{repo}@{attestations[0]['digest']}")
    assert sorted(layer["annotations"]["in-toto.io/predicate-type"] for layer in manifest["layers"]) == [
        "https://slsa.dev/provenance/v1", "https://spdx.dev/Document"]
    # signed by digest: cosign's .sig tag, its payload naming the index, the signature checked by openssl
    layer = _raw(f"{registry.address}/{repo}:sha256-{result.digest[7:]}.sig")["layers"][0]
    payload = subprocess.run(["curl", "-fsS", f"http://{registry.address}/v2/{repo}/blobs/{layer['digest']}"],
                             check=True, capture_output=True).stdout
    assert json.loads(payload)["critical"]["image"]["docker-manifest-digest"] == result.digest
    (tmp_path / "payload.json").write_bytes(payload)
    (tmp_path / "payload.sig").write_bytes(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
    checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", "cosign.pub", "-signature", "payload.sig",
                              "payload.json"], capture_output=True, text=True)
    assert checked.returncode == 0 and "Verified OK" in checked.stdout
    # dockyard.verify finds the index, the platform and both attestations signed
    verified = dockyard.verify(ref, key="cosign.pub", attestation_type=["provenance", "sbom"])
    assert [what for what, _ in verified.checked] == [
        "index", "linux/amd64", "linux/amd64 attestation https://slsa.dev/provenance/v1",
        "linux/amd64 attestation https://spdx.dev/Document"]
    assert dict(verified.checked)["linux/amd64"] == image["digest"]


def test_quality_gates_through_the_api_stop_the_push_or_warn(busybox_base: str, registry: TestRegistry,
                                                             tmp_path: Path) -> None:
    """``gates``/``gate_mode`` as ``--gate``/``--gate-mode``: an enforced failure raises GateError before
    anything reaches the registry (skopeo finds nothing) and writes the gate results to the metadata
    file; warn mode reports the table as a Notice and pushes."""
    ctx = _context(tmp_path, busybox_base)
    ref = f"{registry.address}/api/gated:1"
    meta = tmp_path / "meta.json"
    with pytest.raises(dockyard.GateError):
        dockyard.build(ctx, tags=ref, push=True, gates=["max-size=1kB"], metadata_file=meta)
    assert json.loads(meta.read_text())["dockyard.gates"]["passed"] is False
    missing = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                             capture_output=True)
    assert missing.returncode != 0
    events: list[progress.Event] = []
    result = dockyard.build(ctx, tags=ref, push=True, gates="max-size=1kB", gate_mode="warn", metadata_file=meta,
                            progress=events.append)
    assert _raw(ref) and result.metadata["dockyard.gates"]["passed"] is False
    assert any(isinstance(e, progress.Notice) and e.message.startswith("quality gates failed (warn mode)")
               for e in events)

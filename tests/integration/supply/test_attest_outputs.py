"""Attestations in file outputs, reproducibility under SOURCE_DATE_EPOCH, and refused combinations."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nCOPY hello /hello\n")
    (ctx / "hello").write_text("hello\n")
    return ctx


def _index(layout_tar: Path) -> dict[str, object]:
    with tarfile.open(layout_tar) as tar:
        top = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        digest = top["manifests"][0]["digest"].split(":")[1]
        data: dict[str, object] = json.loads(tar.extractfile(f"blobs/sha256/{digest}").read())  # type: ignore[union-attr]
        return data


def test_single_platform_attested_oci_output_is_reproducible(busybox_base: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A single platform with attestations becomes an index (as buildx); with SOURCE_DATE_EPOCH the
    statements carry no timestamps, so two builds give the same digest."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = _context(tmp_path, busybox_base)
    digests = []
    for n in (1, 2):
        out = tmp_path / f"img{n}.tar"
        done = dockyard("build", "--platform", "linux/amd64", "--sbom=true", "--provenance=true",
                        "-o", f"type=oci,dest={out}", "--progress", "plain", str(ctx))
        digests.append(done.stdout.strip().splitlines()[-1])
        index = _index(out)
        entries = index["manifests"]
        assert isinstance(entries, list)
        assert [e["platform"]["architecture"] for e in entries] == ["amd64", "unknown"]
        assert entries[1]["annotations"]["vnd.docker.reference.digest"] == entries[0]["digest"]
    assert digests[0] == digests[1]


def test_refused_combinations_are_one_line_errors(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    cases = [
        # a bare --sbom right before the context means true (pflag's NoOptDefVal, as buildx)
        (["--attest-storage=referrers", "-o", f"type=oci,dest={tmp_path / 'x.tar'}", "--sbom"],
         "error: --attest-storage=referrers stores attestations in a registry only"),
        (["--attest", "type=sbom,generator=docker/buildkit-syft-scanner"],
         "error: --attest 'type=sbom,generator=docker/buildkit-syft-scanner': generator is not supported"),
        (["--sign", "key=missing.key", "-o", f"type=oci,dest={tmp_path / 'y.tar'}"],
         "error: --sign signs what is pushed: there is no registry output"),
    ]
    for extra, first_line in cases:
        done = dockyard("build", *extra, str(ctx), check=False)
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines()[0] == first_line
        assert "Traceback" not in done.stderr


def test_build_sign_format_bundle_signs_image_and_referrer_attestations(
        registry: TestRegistry, busybox_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``build --sign key=...,format=bundle``: sigstore bundle referrers for the image and its SBOM
    referrer, pushed before the tag (the tag schema on Distribution 2.8), no ``.sig`` tag; verify reads them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    ctx = _context(tmp_path, busybox_base)
    dockyard("generate-key-pair")
    ref = f"{registry.address}/supply/bundlebuild:1"
    done = dockyard("build", "--platform", "linux/amd64", "--sbom=true", "--attest-storage=referrers", "-t", ref,
                    "--push", "--sign", "key=cosign.key,format=bundle", "--progress", "plain", str(ctx))
    assert done.stderr.count("signed supply/bundlebuild@") == 2  # the image and its SBOM referrer
    tags = json.loads(subprocess.run(["skopeo", "list-tags", "--tls-verify=false",
                                      f"docker://{registry.address}/supply/bundlebuild"], check=True,
                                     capture_output=True).stdout)["Tags"]
    assert not any(t.endswith(".sig") for t in tags)
    verified = dockyard("verify", ref, "--key", "cosign.pub", "--attestation-type", "sbom").stdout
    assert verified.count("verified") == 2 and "verified image attestation" in verified
    bad = dockyard("build", "--platform", "linux/amd64", "-t", ref, "--push", "--sign",
                   "key=cosign.key,format=notation", "--progress", "plain", str(ctx), check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: invalid --sign 'key=cosign.key,format=notation'")

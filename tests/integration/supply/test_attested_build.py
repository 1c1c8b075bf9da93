"""The supply-chain done-when test (issue 15): a two-platform build FROM a real Debian image with a
pip-installed app, attested (SBOM + provenance) and signed; checked with skopeo, curl and openssl.

BuildKit pins: the attestation storage is docs/attestations/attestation-storage.md (buildx reads it in
util/imagetools/loader.go); the provenance shape is solver/llbsolver/provenance/types/types.go
(ProvenancePredicateSLSA1) with min mode leaving out build-arg values and secret ids.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dockyard.digest import Digest
from dockyard.executor import qemu
from tests.integration.build.buildrig import dockyard, unpack
from tests.integration.supply.wheels import make_wheel
from tests.rig.registries import PASSWORD, USER, TestRegistry
from tests.unit.attest.spdxcheck import validation_errors

pytestmark = pytest.mark.integration
SECRET = "TOKEN-MARKER-6a1f0c"
SPDX, SLSA = "https://spdx.dev/Document", "https://slsa.dev/provenance/v1"


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "wheels").mkdir(parents=True)
    make_wheel(ctx / "wheels", "greet", "1.4.2", requires=("colorname==0.3.1",))
    make_wheel(ctx / "wheels", "colorname", "0.3.1", license_="Apache-2.0")
    (ctx / "Dockerfile").write_text(
        f"FROM {base}\n"
        "COPY wheels /wheels\n"
        "RUN --mount=type=secret,id=token test -s /run/secrets/token && \\\n"
        "    python3 -m pip install --no-index --find-links /wheels --break-system-packages greet\n"
        "ARG RELEASE=dev\n"
        "LABEL org.example.release=$RELEASE\n")
    return ctx


def _blob(registry: TestRegistry, repo: str, digest: str) -> bytes:
    return subprocess.run(["curl", "-fsS", "-u", f"{USER}:{PASSWORD}",
                           f"http://{registry.address}/v2/{repo}/blobs/{digest}"],
                          check=True, capture_output=True).stdout


def _skopeo_raw(ref: str) -> bytes:
    return subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", f"{USER}:{PASSWORD}",
                           f"docker://{ref}"], check=True, capture_output=True).stdout


def _dpkg_versions(base: str, arch: str, work: Path) -> dict[str, str]:
    """What the base's own dpkg database says (unpacked with skopeo + umoci, read by dpkg-query)."""
    rootfs, _ = unpack(base, arch, work / f"base-{arch}")
    out = subprocess.run(["dpkg-query", "--admindir", str(rootfs / "var/lib/dpkg"), "-W",
                          "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"],
                         check=True, capture_output=True, text=True).stdout
    return {p: v for p, v, status in (line.split(" ", 2) for line in out.splitlines()) if status.startswith("ii")}


def _statements(registry: TestRegistry, repo: str, index: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """platform -> predicate type -> statement, from the index's attestation manifests."""
    platforms = {m["digest"]: f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index["manifests"]
                 if m["platform"]["os"] != "unknown"}
    out: dict[str, dict[str, Any]] = {}
    for entry in index["manifests"]:
        annotations = entry.get("annotations", {})
        if annotations.get("vnd.docker.reference.type") != "attestation-manifest":
            continue
        manifest = json.loads(_skopeo_raw(f"{registry.address}/{repo}@{entry['digest']}"))
        platform = platforms[annotations["vnd.docker.reference.digest"]]
        for layer in manifest["layers"]:
            statement = json.loads(_blob(registry, repo, layer["digest"]))
            assert statement["predicateType"] == layer["annotations"]["in-toto.io/predicate-type"]
            assert statement["subject"][0]["digest"]["sha256"] == annotations["vnd.docker.reference.digest"][7:]
            out.setdefault(platform, {})[statement["predicateType"]] = statement
    return out


@pytest.mark.usefixtures("binfmt_arm64")
def test_two_platform_build_with_sbom_provenance_and_signature(  # noqa: PLR0915 - the done-when scenario of issue 15, checked step by step
        registry: TestRegistry, basic_registry: TestRegistry, debian_base: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    monkeypatch.setenv("TOKEN", SECRET)
    login = subprocess.run([sys.executable, "-m", "dockyard", "login", "-u", USER, "--password-stdin",
                            basic_registry.address], input=PASSWORD, capture_output=True, text=True, check=False)
    assert login.returncode == 0, login.stderr
    dockyard("generate-key-pair")
    ctx = _context(tmp_path, debian_base)
    qemu.ensure("arm64")
    repo = "supply/app"
    ref = f"{basic_registry.address}/{repo}:1.0"
    built = dockyard("build", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push",
                     "--attest", "type=provenance,mode=max", "--sbom=true", "--secret", "id=token,env=TOKEN",
                     "--build-arg", "RELEASE=r7", "--sign", "key=cosign.key", "--progress", "plain", str(ctx),
                     timeout=900)
    assert SECRET not in built.stdout + built.stderr and PASSWORD not in built.stdout + built.stderr
    creds = f"{USER}:{PASSWORD}"
    raw = _skopeo_raw(ref)
    assert built.stdout.strip().endswith(str(Digest.of_bytes(raw)))
    index = json.loads(raw)
    # skopeo sees the index: two platforms and two attestation manifests (unknown/unknown)
    assert sorted(f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index["manifests"]) == \
        ["linux/amd64", "linux/arm64", "unknown/unknown", "unknown/unknown"]
    statements = _statements(basic_registry, repo, index)
    assert sorted(statements) == ["linux/amd64", "linux/arm64"]
    base_raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{debian_base}"],
                              check=True, capture_output=True).stdout
    base_digest = Digest.of_bytes(base_raw)
    for platform, found in statements.items():
        arch = platform.split("/")[1]
        sbom = found[SPDX]["predicate"]
        assert validation_errors(sbom, tmp_path / f"sbom-{arch}.spdx.json") == []  # the SPDX project's validator
        purls = {ref["referenceLocator"] for p in sbom["packages"] for ref in p.get("externalRefs", [])}
        versions = {p["name"]: p.get("versionInfo") for p in sbom["packages"]}
        # every dpkg package of the base, with the version dpkg-query reads from the same database
        dpkg = _dpkg_versions(debian_base, arch, tmp_path)
        assert len(dpkg) > 50
        for name, version in dpkg.items():
            assert versions.get(name) == version, name
        assert any(p.startswith("pkg:deb/debian/libc6@") and f"arch={arch}" in p and "distro=debian-12" in p
                   for p in purls)
        # the pip-installed app and its dependency
        assert "pkg:pypi/greet@1.4.2" in purls and "pkg:pypi/colorname@0.3.1" in purls
        assert versions["greet"] == "1.4.2" and versions["colorname"] == "0.3.1"
        provenance = found[SLSA]["predicate"]
        build = provenance["buildDefinition"]
        assert build["externalParameters"]["configSource"]["path"] == "Dockerfile"
        assert build["externalParameters"]["configSource"]["digest"]["sha256"] == \
            Digest.of_bytes((ctx / "Dockerfile").read_bytes()).hex
        deps = build["resolvedDependencies"]
        assert {"uri": f"pkg:docker/{registry.address.replace(':', '%3A')}/debian@bookworm?platform="
                       f"linux%2F{arch}", "digest": {"sha256": base_digest.hex}} in deps
        assert build["externalParameters"]["request"]["args"]["build-arg:RELEASE"] == "r7"  # mode=max
        assert build["externalParameters"]["request"]["secrets"] == [{"id": "token"}]
    everything = json.dumps(statements)
    assert SECRET not in everything and PASSWORD not in everything

    # imagetools inspect shows both, per platform
    shown = json.loads(dockyard("imagetools", "inspect", "--format", "json", ref).stdout)
    assert sorted(shown["provenance"]) == sorted(shown["sbom"]) == ["linux/amd64", "linux/arm64"]
    assert shown["sbom"]["linux/arm64"]["SPDX"]["spdxVersion"] == "SPDX-2.3"

    # signed at build time: verify everything, attestations included
    verified = dockyard("verify", ref, "--key", "cosign.pub", "--attestation-type", "provenance",
                        "--attestation-type", "sbom").stdout
    assert verified.count("verified") == 7  # index, 2 platforms, 2 x (provenance, sbom)

    # referrers storage: the index holds only the two platforms; attestations through the tag schema
    ref2 = f"{basic_registry.address}/{repo}:referrers"
    qemu.ensure("arm64")  # binfmt_misc is machine-global: another test may have replaced the handler meanwhile
    dockyard("build", "--platform", "linux/amd64,linux/arm64", "-t", ref2, "--push", "--attest-storage=referrers",
             "--provenance=true", "--sbom=true", "--secret", "id=token,env=TOKEN", "--sign", "key=cosign.key",
             "--progress", "plain", str(ctx), timeout=900)
    index2 = json.loads(_skopeo_raw(ref2))
    assert len(index2["manifests"]) == 2
    tags = json.loads(subprocess.run(["skopeo", "list-tags", "--tls-verify=false", "--creds", creds,
                                      f"docker://{basic_registry.address}/{repo}"], check=True,
                                     capture_output=True).stdout)["Tags"]
    for entry in index2["manifests"]:
        fallback = f"sha256-{entry['digest'][7:]}"
        assert fallback in tags  # Distribution 2.8 has no referrers API: the referrers tag schema
        listed = json.loads(_skopeo_raw(f"{basic_registry.address}/{repo}:{fallback}"))
        assert sorted(m["annotations"]["in-toto.io/predicate-type"] for m in listed["manifests"]) == [SLSA, SPDX]
        assert all(m["artifactType"] == "application/vnd.in-toto+json" for m in listed["manifests"])
    shown2 = json.loads(dockyard("imagetools", "inspect", "--format", "json", ref2).stdout)
    assert sorted(shown2["provenance"]) == ["linux/amd64", "linux/arm64"]
    # the referrer artifacts were signed too: verify finds them through the tag schema
    verified = dockyard("verify", ref2, "--key", "cosign.pub", "--attestation-type", "provenance",
                        "--attestation-type", "sbom").stdout
    assert verified.count("verified") == 7
    # min mode (--provenance=true): no build-arg values, no secret ids
    request = shown2["provenance"]["linux/amd64"]["SLSA"]["buildDefinition"]["externalParameters"]["request"]
    assert "secrets" not in request and not any(k.startswith("build-arg:") for k in request["args"])

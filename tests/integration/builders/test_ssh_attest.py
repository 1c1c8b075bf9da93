"""Attestations on a build spread over SSH nodes: the client makes each platform's SBOM and provenance
from what the nodes built (layers fetched back, the client's plan and resolved bases) and pushes them
in the index beside the nodes' manifests, as for a local build (the statements read back with skopeo
and the registry's blob API, not our reader)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dockyard.digest import Digest
from tests.integration.build.buildrig import dockyard
from tests.integration.builders.conftest import FarmRegistry
from tests.integration.builders.test_ssh_nodes import _builder, two_node_builder
from tests.rig.sshnodes import SshFarm

pytestmark = pytest.mark.integration
SPDX, SLSA = "https://spdx.dev/Document", "https://slsa.dev/provenance/v1"

DOCKERFILE = """FROM {base}
RUN d=/usr/lib/python3/dist-packages/greet-1.4.2.dist-info && mkdir -p $d && \\
    printf 'Metadata-Version: 2.1\\nName: greet\\nVersion: 1.4.2\\n' > $d/METADATA && uname -m > /arch
"""


def _raw(ref: str) -> dict[str, Any]:
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def _blob(address: str, repo: str, digest: str) -> Any:
    return json.loads(subprocess.run(["curl", "-fsS", f"http://{address}/v2/{repo}/blobs/{digest}"],
                                     check=True, capture_output=True).stdout)


def test_sbom_and_provenance_for_platforms_built_on_two_nodes(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    _farm, reg, env = two_node_builder(ssh_farm, farm_registry_for, "attest")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=reg.base))
    ref = f"{reg.address}/attested:1"
    out = dockyard("--builder", "attest", "build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64",
                   "--sbom=true", "--attest", "type=provenance,mode=max", "--push", "-t", ref, str(ctx), env=env)
    assert "linux/amd64: node amd" in out.stderr and "linux/arm64: node arm" in out.stderr

    index = _raw(ref)
    platforms = {m["digest"]: m["platform"]["architecture"] for m in index["manifests"]
                 if m["platform"]["os"] != "unknown"}
    assert sorted(platforms.values()) == ["amd64", "arm64"]
    found: dict[str, dict[str, Any]] = {}
    for entry in index["manifests"]:
        annotations = entry.get("annotations", {})
        if annotations.get("vnd.docker.reference.type") != "attestation-manifest":
            continue
        subject = annotations["vnd.docker.reference.digest"]
        manifest = _raw(f"{reg.address}/attested@{entry['digest']}")
        for layer in manifest["layers"]:
            statement = _blob(reg.address, "attested", layer["digest"])
            assert statement["subject"][0]["digest"]["sha256"] == subject.removeprefix("sha256:")
            found.setdefault(platforms[subject], {})[statement["predicateType"]] = statement["predicate"]
    assert sorted(found) == ["amd64", "arm64"]
    base_digest = Digest.of_bytes(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                                  f"docker://{reg.base}"], check=True, capture_output=True).stdout)
    for arch, predicates in found.items():
        # the SBOM read the layer the node's RUN step wrote (fetched back to the client)
        purls = {r["referenceLocator"] for p in predicates[SPDX]["packages"] for r in p.get("externalRefs", [])}
        assert "pkg:pypi/greet@1.4.2" in purls, arch
        build = predicates[SLSA]["buildDefinition"]
        assert build["externalParameters"]["configSource"]["path"] == "Dockerfile"
        assert any(d["digest"] == {"sha256": base_digest.hex} and f"platform=linux%2F{arch}" in d["uri"]
                   for d in build["resolvedDependencies"]), arch


def test_an_sbom_of_another_stage_built_on_a_remote_node(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    """BUILDKIT_SBOM_SCAN_STAGE on a remote node: the node reports the builder stage's layers, the client
    fetches them and adds that stage's SBOM (``sbom-builder``) after the final image's."""
    farm = ssh_farm(1)
    reg = farm_registry_for(farm)
    env = _builder(farm, reg, "scan", ("amd", farm.hosts[0], "linux/amd64"))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {reg.base} AS builder\nARG BUILDKIT_SBOM_SCAN_STAGE=true\n"
        + DOCKERFILE.split("\n", 1)[1]
        + f"FROM {reg.base}\nCOPY --from=builder /arch /arch\n")
    ref = f"{reg.address}/scan:1"
    out = dockyard("--builder", "scan", "build", "--progress", "plain", "--sbom=true", "--push", "-t", ref,
                   str(ctx), env=env)
    assert "linux/amd64: node amd" in out.stderr
    index = _raw(ref)
    (entry,) = [m for m in index["manifests"]
                if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"]
    sboms = [_blob(reg.address, "scan", layer["digest"])["predicate"]
             for layer in _raw(f"{reg.address}/scan@{entry['digest']}")["layers"]
             if layer["annotations"]["in-toto.io/predicate-type"] == SPDX]
    assert [d["name"] for d in sboms][1:] == ["sbom-builder"]

    def purls(doc: dict[str, Any]) -> set[str]:
        return {r["referenceLocator"] for p in doc["packages"] for r in p.get("externalRefs", [])}

    assert "pkg:pypi/greet@1.4.2" not in purls(sboms[0])  # the final image has no such package ...
    assert "pkg:pypi/greet@1.4.2" in purls(sboms[1])  # ... the builder stage, built on the node, has

"""``--attest type=sbom,format=cyclonedx``: a CycloneDX 1.5 SBOM in buildx's attestation manifest.

A real build FROM a Debian image (a real dpkg database) pushed to a real registry and signed; the
index and the attestation manifest are read back with skopeo, the statement blob with curl, the BOM
checked by cyclonedx-python-lib's strict schema validator and its Debian components against
``dpkg-query`` on the base unpacked with skopeo + umoci. Storage is BuildKit's
docs/attestations/attestation-storage.md, with the in-toto predicate type of the CycloneDX predicate
(in-toto/attestation spec/predicates/cyclonedx.md, cosign's ``--type cyclonedx``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.integration.build.buildrig import dockyard
from tests.integration.supply.test_sbom_stages import _installed, _raw
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration
CYCLONEDX = "https://cyclonedx.org/bom"


def test_cyclonedx_sbom_in_the_attestation_manifest(registry: TestRegistry, debian_base: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    dockyard("generate-key-pair")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {debian_base}\nLABEL org.example.sbom=cyclonedx\n")
    repo, ref = "supply/cdx", f"{registry.address}/supply/cdx:1"
    dockyard("build", "--platform", "linux/amd64", "-t", ref, "--push", "--attest", "type=sbom,format=cyclonedx",
             "--sign", "key=cosign.key", "--progress", "plain", str(ctx), timeout=600)

    index = _raw(ref)
    (image,) = [m for m in index["manifests"] if m["platform"] == {"os": "linux", "architecture": "amd64"}]
    (entry,) = [m for m in index["manifests"] if m is not image]
    assert entry["annotations"] == {"vnd.docker.reference.type": "attestation-manifest",
                                    "vnd.docker.reference.digest": image["digest"]}
    manifest = _raw(f"{registry.address}/{repo}@{entry['digest']}")
    (layer,) = manifest["layers"]  # only the SBOM was asked for: no SPDX document next to it
    assert layer["mediaType"] == "application/vnd.in-toto+json"
    assert layer["annotations"]["in-toto.io/predicate-type"] == CYCLONEDX
    blob = subprocess.run(["curl", "-fsS", f"http://{registry.address}/v2/{repo}/blobs/{layer['digest']}"],
                          check=True, capture_output=True).stdout
    statement = json.loads(blob)
    assert statement["predicateType"] == CYCLONEDX
    assert statement["subject"][0]["digest"]["sha256"] == image["digest"].removeprefix("sha256:")
    bom = statement["predicate"]
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(bom)) is None
    assert bom["metadata"]["component"]["type"] == "container"
    assert bom["metadata"]["component"]["purl"] == statement["subject"][0]["name"]
    assert bom["metadata"]["component"]["purl"].startswith("pkg:docker/")
    debs = {c["name"]: c["version"] for c in bom["components"] if c.get("purl", "").startswith("pkg:deb/debian/")}
    assert debs == _installed(debian_base, "amd64", tmp_path / "debian")
    assert all("arch=" in c["purl"] and "distro=debian-12" in c["purl"]
               for c in bom["components"] if c["type"] == "library" and c["purl"].startswith("pkg:deb/"))
    assert [c["name"] for c in bom["components"] if c["type"] == "operating-system"] == ["debian"]

    shown = json.loads(dockyard("imagetools", "inspect", ref, "--format", "json").stdout)["sbom"]
    assert shown["linux/amd64"]["CycloneDX"] == bom
    verified = dockyard("verify", ref, "--key", "cosign.pub", "--attestation-type", "cyclonedx").stdout
    assert f"linux/amd64 attestation {CYCLONEDX}" in verified
    no_spdx = dockyard("verify", ref, "--key", "cosign.pub", "--attestation-type", "sbom", check=False)
    assert no_spdx.returncode != 0 and "no https://spdx.dev/Document attestation" in no_spdx.stderr

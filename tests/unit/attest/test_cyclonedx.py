"""CycloneDX BOMs from the catalog, checked by CycloneDX's own validator (cyclonedx-python-lib's strict
JSON schema validator), and held to the SPDX document of the same catalog: the same packages, the same purls."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from dockyard.attest import cyclonedx, spdx
from dockyard.attest.catalog import Catalog, catalog
from dockyard.attest.options import SbomFormat, parse
from dockyard.errors import UsageError
from tests.unit.attest.layers import layer
from tests.unit.attest.test_catalog import APK_INSTALLED, DEBIAN_OS_RELEASE, DPKG_STATUS, PIP_METADATA

NAME = "pkg:docker/app@1.0?platform=linux%2Famd64"
CREATED = "2023-11-14T22:13:20Z"


def _found() -> Catalog:
    site = "usr/local/lib/python3.11/site-packages"
    return catalog([layer(("usr/lib/os-release", DEBIAN_OS_RELEASE), ("var/lib/dpkg/status", DPKG_STATUS),
                          ("lib/apk/db/installed", APK_INSTALLED),
                          (f"{site}/PyYAML-6.0.1.dist-info/METADATA", PIP_METADATA),
                          (f"{site}/odd-1.0.dist-info/METADATA", "Name: odd\nVersion: 1.0\nLicense: BSD License\n"))])


def _schema_errors(bom: dict[str, Any]) -> str | None:
    error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(bom))
    return None if error is None else str(error)


def test_bom_is_valid_cyclonedx_1_5_for_cyclonedx_python_lib() -> None:
    bom = cyclonedx.document(_found(), name=NAME, created=CREATED)
    assert _schema_errors(bom) is None
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.5")
    assert bom["metadata"]["component"] == {"type": "container", "bom-ref": "image", "name": NAME, "purl": NAME}
    by_name = {c["name"]: c for c in bom["components"]}
    assert by_name["debian"]["type"] == "operating-system" and by_name["debian"]["version"] == "12"
    assert by_name["libc6"]["type"] == "library"
    assert by_name["libc6"]["version"] == "2.36-9+deb12u7"
    assert by_name["libc6"]["evidence"] == {"occurrences": [{"location": "/var/lib/dpkg/status"}]}
    assert by_name["PyYAML"]["licenses"] == [{"expression": "MIT"}]
    assert by_name["odd"]["licenses"] == [{"license": {"name": "BSD License"}}]  # not an SPDX expression: a name
    assert bom["dependencies"] == [{"ref": "image", "dependsOn": [c["bom-ref"] for c in bom["components"]]}]


def test_a_broken_bom_is_refused_by_the_validator() -> None:
    """The validator is not a rubber stamp: a component without its required type fails."""
    bom = cyclonedx.document(_found(), name=NAME, created=CREATED)
    del bom["components"][1]["type"]
    assert _schema_errors(bom) is not None


def test_components_are_the_spdx_packages_with_the_same_purls_and_versions() -> None:
    found = _found()
    bom = cyclonedx.document(found, name=NAME, created=CREATED)
    document = spdx.document(found, name=NAME, created=CREATED)
    spdx_packages = {(p["name"], p["versionInfo"], p["externalRefs"][0]["referenceLocator"])
                     for p in document["packages"] if "externalRefs" in p}
    libraries = {(c["name"], c["version"], c["purl"]) for c in bom["components"] if c["type"] == "library"}
    assert libraries == spdx_packages
    assert len(libraries) == len(found.packages) >= 4


def test_the_same_catalog_gives_the_same_bom() -> None:
    """Reproducible: the serial number is derived from the content, not drawn at random."""
    first = cyclonedx.document(_found(), name=NAME, created=CREATED)
    assert cyclonedx.document(_found(), name=NAME, created=CREATED) == first
    assert cyclonedx.document(_found(), name="sbom-build", created=CREATED)["serialNumber"] != first["serialNumber"]


def test_format_option_chooses_cyclonedx_and_refuses_unknown_formats() -> None:
    assert parse(["type=sbom"]).sbom_format is SbomFormat.SPDX
    assert parse(["type=sbom,format=cyclonedx"]).sbom_format is SbomFormat.CYCLONEDX
    assert parse(sbom="format=cyclonedx").sbom_format is SbomFormat.CYCLONEDX
    with pytest.raises(UsageError, match="invalid SBOM format 'syft-json'"):
        parse(["type=sbom,format=syft-json"])

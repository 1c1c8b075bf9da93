"""CycloneDX 1.5 JSON BOMs from a :class:`~dockyard.attest.catalog.Catalog` (``--attest type=sbom,format=cyclonedx``).

The same catalog the SPDX writer reads, told the CycloneDX way: the image is
``metadata.component`` (type ``container``), the distribution an ``operating-system``
component, and every package a ``library`` component with its purl, version, declared
licenses and the file it was read from as ``evidence.occurrences``. The serial number is
derived from the content, so the same image gives the same BOM (reproducible attestations).
1.5 rather than 1.6: it is the version the in-toto CycloneDX predicate document names, and it
needs nothing 1.6 added.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from dockyard import __version__
from dockyard.attest.catalog import Catalog
from dockyard.attest.packages import Package

SPEC_VERSION = "1.5"
IMAGE_REF = "image"
_OS_REF = "operating-system"


def _licenses(package: Package) -> list[dict[str, Any]]:
    expression = package.license_expression
    if expression is not None:
        return [{"expression": expression}]
    return [{"license": {"name": text}} for text in package.licenses]


def _component(package: Package) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "library", "bom-ref": f"{package.kind}-{package.tag}", "name": package.name,
                           "version": package.version, "purl": package.purl,
                           "evidence": {"occurrences": [{"location": package.location}]},
                           "properties": [{"name": "dockyard:package:type", "value": package.kind}]}
    licenses = _licenses(package)
    if licenses:
        out["licenses"] = licenses
    if package.source_package:
        out["properties"].append({"name": "dockyard:package:source", "value": package.source_package})
    return out


def document(found: Catalog, *, name: str, created: str) -> dict[str, Any]:
    """The CycloneDX BOM for an image called ``name``; ``created`` is an RFC 3339 UTC time."""
    components = [_component(p) for p in found.packages]
    release = found.os_release
    if release.id:
        system: dict[str, Any] = {"type": "operating-system", "bom-ref": _OS_REF, "name": release.id}
        if release.version_id:
            system["version"] = release.version_id
        if release.pretty_name:
            system["description"] = release.pretty_name
        components.insert(0, system)
    content = hashlib.sha256("\n".join([name, *(c["bom-ref"] for c in components)]).encode()).digest()
    image: dict[str, Any] = {"type": "container", "bom-ref": IMAGE_REF, "name": name}
    if name.startswith("pkg:"):
        image["purl"] = name
    return {"bomFormat": "CycloneDX", "specVersion": SPEC_VERSION,
            "serialNumber": f"urn:uuid:{uuid.UUID(bytes=content[:16], version=5)}", "version": 1,
            "metadata": {"timestamp": created,
                         "tools": {"components": [{"type": "application", "name": "dockyard",
                                                   "version": __version__}]},
                         "component": image},
            "components": components,
            "dependencies": [{"ref": IMAGE_REF, "dependsOn": [c["bom-ref"] for c in components]}]}

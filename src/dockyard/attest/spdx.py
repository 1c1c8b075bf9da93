"""SPDX 2.3 JSON documents from a :class:`~dockyard.attest.catalog.Catalog`.

The document describes one image (a ``CONTAINER`` package) that ``CONTAINS`` every package
found, each with its purl as a ``PACKAGE-MANAGER`` external reference (how scanners match
vulnerabilities) and the file it was read from as ``sourceInfo``. The namespace is derived
from the content, so the same image gives the same document (reproducible attestations).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from dockyard import __version__
from dockyard.attest.catalog import Catalog
from dockyard.attest.packages import Package

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_SOURCE = {"deb": "DPKG DB", "apk": "APK DB", "rpm": "RPM DB", "pypi": "Python package metadata", "npm": "npm package",
           "golang": "Go module information"}
IMAGE_ID = "SPDXRef-Image"


def _spdx_id(package: Package) -> str:
    return f"SPDXRef-Package-{package.kind}-{_ID_UNSAFE.sub('-', package.name)}-{package.tag}"


def _package(package: Package) -> dict[str, Any]:
    declared = package.license_expression
    out: dict[str, Any] = {
        "name": package.name, "SPDXID": _spdx_id(package), "versionInfo": package.version,
        "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": declared or "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "sourceInfo": f"acquired package info from {_SOURCE.get(package.kind, package.kind)}: {package.location}",
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": package.purl}],
    }
    if package.licenses and declared is None:
        out["attributionTexts"] = [f"declared licenses: {' '.join(package.licenses)}"]
    return out


def document(found: Catalog, *, name: str, created: str) -> dict[str, Any]:
    """The SPDX document for an image called ``name``; ``created`` is an RFC 3339 UTC time."""
    packages = [_package(p) for p in found.packages]
    content = hashlib.sha256("\n".join([name, *(p["SPDXID"] for p in packages)]).encode()).hexdigest()
    image: dict[str, Any] = {"name": name, "SPDXID": IMAGE_ID, "downloadLocation": "NOASSERTION",
                             "filesAnalyzed": False, "licenseConcluded": "NOASSERTION",
                             "licenseDeclared": "NOASSERTION", "copyrightText": "NOASSERTION",
                             "primaryPackagePurpose": "CONTAINER"}
    if found.os_release.pretty_name:
        image["comment"] = f"operating system: {found.os_release.pretty_name}"
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": IMAGE_ID}]
    relationships += [{"spdxElementId": IMAGE_ID, "relationshipType": "CONTAINS",
                       "relatedSpdxElement": p["SPDXID"]} for p in packages]
    return {"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": name,
            "documentNamespace": f"https://dockyard.invalid/spdx/{_ID_UNSAFE.sub('-', name)}-{content[:32]}",
            "creationInfo": {"created": created, "creators": [f"Tool: dockyard-{__version__}"]},
            "packages": [image, *packages], "documentDescribes": [IMAGE_ID], "relationships": relationships}

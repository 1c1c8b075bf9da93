"""Python distributions: ``*.dist-info/METADATA`` (pip, wheels) and ``*.egg-info`` (PKG-INFO).

Found anywhere in the image (site-packages, dist-packages, virtualenvs), as pip would list
them per environment. Names are normalized as PEP 503 says for the purl (``pkg:pypi/pyyaml``),
while the package keeps the name the distribution declares.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Mapping

from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.catalog.rfc822 import headers
from dockyard.attest.imagefs import Reader, read_all
from dockyard.attest.packages import Package, purl

KIND = "pypi"
_METADATA = re.compile(r"[^/]+\.dist-info/METADATA$|[^/]+\.egg-info/PKG-INFO$|[^/]+\.egg-info$")


def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    return read_all(4 << 20) if _METADATA.search(path) else None


def normalize(name: str) -> str:
    """PEP 503: runs of ``-_.`` become one ``-``, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


def packages(files: Mapping[str, bytes], os_release: OsRelease) -> list[Package]:
    out: list[Package] = []
    for path, data in files.items():
        meta = headers(data.decode("utf-8", "replace"))
        name, version = meta.get("Name"), meta.get("Version")
        if not name or not version:
            continue
        license_ = meta.get("License-Expression") or meta.get("License") or ""
        licenses = (license_,) if license_ and license_ != "UNKNOWN" and "\n" not in license_ else ()
        out.append(Package(name=name, version=version, kind=KIND, location="/" + path, licenses=licenses,
                           purl=purl(KIND, normalize(name), version)))
    return out

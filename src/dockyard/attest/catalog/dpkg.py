"""Debian and Ubuntu packages: ``var/lib/dpkg/status`` and distroless ``var/lib/dpkg/status.d/*``.

Only stanzas whose ``Status`` says ``installed`` count (a removed package leaves a
``deinstall ok config-files`` stanza behind); distroless status.d files have no Status field
and list installed packages only. The purl follows syft and Trivy:
``pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12``, with ``upstream`` naming
the source package when it differs from the binary package.
"""

from __future__ import annotations

import tarfile
from collections.abc import Mapping

from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.catalog.rfc822 import stanzas
from dockyard.attest.imagefs import Reader, read_all
from dockyard.attest.packages import Package, purl

STATUS = "var/lib/dpkg/status"
STATUS_D = "var/lib/dpkg/status.d/"
KIND = "deb"


def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    if path == STATUS or (path.startswith(STATUS_D) and not path.endswith(".md5sums")):
        return read_all(64 << 20)
    return None


def _installed(stanza: Mapping[str, str]) -> bool:
    status = stanza.get("Status")
    return status is None or status.split()[-1:] == ["installed"]


def packages(files: Mapping[str, bytes], os_release: OsRelease) -> list[Package]:
    out: list[Package] = []
    namespace = os_release.id or "debian"
    for path, data in files.items():
        for stanza in stanzas(data.decode("utf-8", "replace")):
            name, version = stanza.get("Package"), stanza.get("Version")
            if not name or not version or not _installed(stanza):
                continue
            arch = stanza.get("Architecture", "")
            source = stanza.get("Source", "").split(" ")[0]
            qualifiers = {"arch": arch, "distro": os_release.distro,
                          "upstream": source if source and source != name else ""}
            out.append(Package(name=name, version=version, kind=KIND, location="/" + path, arch=arch,
                               source_package=source,
                               purl=purl(KIND, name, version, namespace=namespace, qualifiers=qualifiers)))
    return out

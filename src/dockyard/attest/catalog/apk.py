"""Alpine packages: ``lib/apk/db/installed`` (``P:`` name, ``V:`` version, ``A:`` arch, ``L:`` license)."""

from __future__ import annotations

import tarfile
from collections.abc import Mapping

from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.imagefs import Reader, read_all
from dockyard.attest.packages import Package, purl

INSTALLED = "lib/apk/db/installed"
KIND = "apk"


def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    return read_all(64 << 20) if path == INSTALLED else None


def _records(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                out.append(current)
            current = {}
            continue
        key, colon, value = line.partition(":")
        if colon and len(key) == 1:
            current.setdefault(key, value)
    if current:
        out.append(current)
    return out


def packages(files: Mapping[str, bytes], os_release: OsRelease) -> list[Package]:
    out: list[Package] = []
    for path, data in files.items():
        for rec in _records(data.decode("utf-8", "replace")):
            name, version = rec.get("P"), rec.get("V")
            if not name or not version:
                continue
            arch, origin = rec.get("A", ""), rec.get("o", "")
            qualifiers = {"arch": arch, "distro": os_release.distro,
                          "upstream": origin if origin and origin != name else ""}
            out.append(Package(name=name, version=version, kind=KIND, location="/" + path, arch=arch,
                               licenses=tuple(rec["L"].split()) if rec.get("L") else (), source_package=origin,
                               purl=purl(KIND, name, version, namespace=os_release.id or "alpine",
                                         qualifiers=qualifiers)))
    return out

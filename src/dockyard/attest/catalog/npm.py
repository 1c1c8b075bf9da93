"""npm packages: each installed ``node_modules/[@scope/]name/package.json``, and ``package-lock.json``.

An installed package.json is the truth about what is in the image; a lock file outside any
node_modules lists what ``npm ci`` installed (lockfileVersion 2/3 ``packages``, version 1
``dependencies``), which matters when node_modules was bundled away. The purl of a scoped
package keeps the scope as its namespace: ``pkg:npm/%40types/node@20.1.0``.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from typing import Any

from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.imagefs import Reader, read_all
from dockyard.attest.packages import Package, purl

KIND = "npm"
_INSTALLED = re.compile(r"(?:^|/)node_modules/((?:@[^/]+/)?[^/@][^/]*)/package\.json$")
_LOCK = re.compile(r"(?:^|/)package-lock\.json$")


def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    if _INSTALLED.search(path) or (_LOCK.search(path) and "node_modules/" not in path):
        return read_all(64 << 20)
    return None


def _license(doc: Mapping[str, Any]) -> tuple[str, ...]:
    value = doc.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    return (value,) if isinstance(value, str) and value else ()


def _package(name: str, version: str, location: str, licenses: tuple[str, ...]) -> Package:
    scope, slash, base = name.rpartition("/")
    return Package(name=name, version=version, kind=KIND, location=location, licenses=licenses,
                   purl=purl(KIND, base if slash else name, version, namespace=scope or None))


def _locked(doc: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    entries = doc.get("packages")
    if isinstance(entries, dict):
        for key, entry in entries.items():
            if isinstance(entry, dict) and "node_modules/" in key and not entry.get("link"):
                yield key.rsplit("node_modules/", 1)[1], entry
        return
    pending = [doc.get("dependencies")]
    while pending:
        deps = pending.pop()
        if isinstance(deps, dict):
            for name, entry in deps.items():
                if isinstance(entry, dict):
                    yield name, entry
                    pending.append(entry.get("dependencies"))


def packages(files: Mapping[str, bytes], os_release: OsRelease) -> list[Package]:
    out: list[Package] = []
    for path, data in files.items():
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        if _INSTALLED.search(path):
            name, version = doc.get("name"), doc.get("version")
            if isinstance(name, str) and isinstance(version, str) and name and version:
                out.append(_package(name, version, "/" + path, _license(doc)))
            continue
        for name, entry in _locked(doc):
            version = entry.get("version")
            if isinstance(version, str) and version and not version.startswith(("file:", "link:")):
                out.append(_package(name, version, "/" + path, _license(entry)))
    return out

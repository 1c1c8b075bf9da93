"""The one model of a software package found in an image, and its package URL (purl).

Every cataloger returns :class:`Package` values; the SPDX writer and ``imagetools inspect``
read nothing else. The purl is built here, once, by the purl specification's rules
(lower-case type, percent-encoded name and version, qualifiers sorted by key), because
scanners and vulnerability databases match packages by it, so one wrong ``%2B`` loses a match.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from dockyard.platform import Platform
from dockyard.reference import Reference

# a license expression SPDX accepts as written (ids joined by AND/OR/WITH); anything else is kept as text
_EXPRESSION = re.compile(r"^[A-Za-z0-9.+-]+(?: (?:AND|OR|WITH) [A-Za-z0-9.+-]+)*$")


def _encode(text: str) -> str:
    return quote(text, safe="")


def purl(kind: str, name: str, version: str | None = None, *, namespace: str | None = None,
         qualifiers: Mapping[str, str] | None = None, subpath: str | None = None) -> str:
    """``pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH`` as the purl spec encodes it."""
    out = f"pkg:{kind.lower()}/"
    if namespace:
        out += "/".join(_encode(part) for part in namespace.split("/") if part) + "/"
    out += _encode(name)
    if version:
        out += "@" + _encode(version)
    items = sorted((k.lower(), v) for k, v in (qualifiers or {}).items() if v)
    if items:
        out += "?" + "&".join(f"{k}={_encode(v)}" for k, v in items)
    if subpath:
        out += "#" + "/".join(_encode(part) for part in subpath.split("/") if part not in ("", ".", ".."))
    return out


def image_purl(ref: Reference, platform: Platform) -> str:
    """An image as BuildKit's purl.RefToPURL names it: ``pkg:docker/127.0.0.1%3A5000/debian@bookworm?platform=
    linux%2Farm64``; Docker Hub's ``library/`` and host are left out, a digest stands in for a missing tag."""
    namespace, _, name = ref.repository.rpartition("/")
    if ref.registry != "docker.io":
        namespace = f"{ref.registry}/{namespace}" if namespace else ref.registry
    elif namespace == "library":
        namespace = ""
    version = ref.tag or (str(ref.digest) if ref.digest else "latest")
    return purl("docker", name, version, namespace=namespace or None, qualifiers={"platform": str(platform)})


@dataclass(frozen=True, kw_only=True, order=True)
class Package:
    """One installed package: what it is, which version, and where in the image it was found."""

    name: str
    version: str
    kind: str  # deb, apk, pypi, npm, golang: the purl type, also the SPDX package's "source" kind
    purl: str
    location: str  # the file it was read from, relative to the image root
    licenses: tuple[str, ...] = field(default=(), compare=False)
    arch: str = field(default="", compare=False)
    source_package: str = field(default="", compare=False)  # dpkg/apk origin, when it differs

    @property
    def tag(self) -> str:
        """A short stable id of this package at this location (the SBOM writers' element ids)."""
        return hashlib.sha256(f"{self.purl}\0{self.location}".encode()).hexdigest()[:12]

    @property
    def license_expression(self) -> str | None:
        """The declared licenses as one SPDX expression, or None when there are none or they are free text."""
        declared = " AND ".join(self.licenses)
        return declared if _EXPRESSION.match(declared) else None

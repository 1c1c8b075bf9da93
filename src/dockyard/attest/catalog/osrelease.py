"""/etc/os-release (or /usr/lib/os-release): the distro qualifier of deb and apk purls."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

PATHS = ("etc/os-release", "usr/lib/os-release")


@dataclass(frozen=True)
class OsRelease:
    id: str = ""
    version_id: str = ""
    pretty_name: str = ""

    @property
    def distro(self) -> str:
        """``debian-12``, ``alpine-3.19.1``: the purl ``distro`` qualifier (syft's convention)."""
        return f"{self.id}-{self.version_id}" if self.id and self.version_id else self.id


def parse(data: bytes) -> OsRelease:
    values: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, eq, raw = line.strip().partition("=")
        if not eq or key.startswith("#"):
            continue
        try:
            words = shlex.split(raw)
        except ValueError:
            continue
        values[key] = words[0] if words else ""
    return OsRelease(id=values.get("ID", ""), version_id=values.get("VERSION_ID", ""),
                     pretty_name=values.get("PRETTY_NAME", ""))


def find(files: Mapping[str, bytes]) -> OsRelease:
    for path in PATHS:
        if path in files:
            return parse(files[path])
    return OsRelease()

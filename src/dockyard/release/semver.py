"""Semantic versions as node-semver reads them (the library docker/metadata-action uses).

Only what tag computation needs: strict validity (an optional leading ``v``, no leading zeros,
dot-separated pre-release and build identifiers, at most 256 characters) and the parts a
``{{...}}`` pattern may name. ``version`` drops build metadata, as node-semver's does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"0|[1-9]\d*"
_PRE_ID = rf"(?:{_NUM}|\d*[a-zA-Z-][a-zA-Z0-9-]*)"
_STRICT = re.compile(
    rf"^v?(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
MAX_LENGTH = 256


@dataclass(frozen=True)
class SemVer:
    """A parsed version; ``raw`` is the text it was read from (with its ``v``, if any)."""

    raw: str
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]
    build: tuple[str, ...]

    @property
    def version(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core

    def fields(self) -> dict[str, str]:
        """The names a pattern may use, rendered as node-semver's object renders in a template."""
        return {"raw": self.raw, "version": self.version, "major": str(self.major), "minor": str(self.minor),
                "patch": str(self.patch), "prerelease": ",".join(self.prerelease), "build": ",".join(self.build)}


def parse(text: str) -> SemVer | None:
    """The version ``text`` holds, or None when it is not a valid semantic version."""
    text = text.strip()
    if len(text) > MAX_LENGTH:
        return None
    m = _STRICT.match(text)
    if m is None:
        return None
    return SemVer(raw=text, major=int(m["major"]), minor=int(m["minor"]), patch=int(m["patch"]),
                  prerelease=tuple(m["pre"].split(".")) if m["pre"] else (),
                  build=tuple(m["build"].split(".")) if m["build"] else ())

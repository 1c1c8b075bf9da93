"""Platforms: the os/architecture/variant triple that selects one image of an index.

Users write platforms loosely (``arm64``, ``linux/aarch64``, ``x86_64``, ``armhf``);
registries and runtimes need one normal form, and BuildKit's is containerd's
(containerd/platforms database.go ``normalizeArch``): ``linux/arm64`` and
``linux/arm64/v8`` are both ``linux/arm64`` with *no* variant, ``linux/arm`` is
``linux/arm/v7``, ``amd64/v1`` is ``amd64``. That form is what TARGETPLATFORM says and
what index entries and image configs carry. Normalising in one place keeps cache
keys, index entries and emulator choices consistent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dockyard.errors import UsageError

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "armv7l": "arm",
    "armv7": "arm",
    "armv6l": "arm",
    "armv6": "arm",
    "arm": "arm",
    "i386": "386",
    "i686": "386",
    "386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64le",
    "loong64": "loong64",
}

# Variant implied by an alias when the user does not give one.
_ALIAS_VARIANT = {"armhf": "v7", "armv7l": "v7", "armv7": "v7", "armel": "v6", "armv6l": "v6", "armv6": "v6"}

_KNOWN_OS = {"linux", "windows", "darwin", "freebsd"}


@dataclass(frozen=True, order=True)
class Platform:
    """A normalised platform; ``str()`` gives ``os/arch[/variant]``."""

    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse and normalise ``[os/]arch[/variant]`` as docker and BuildKit accept it."""
        raw = text.strip().lower()
        parts = raw.split("/")
        if not raw or len(parts) > 3 or any(not p for p in parts):
            raise UsageError(
                f"invalid platform {text!r}", hint="use os/arch[/variant], e.g. linux/amd64 or linux/arm64"
            )
        if len(parts) == 1:
            os_name, arch, variant = "linux", parts[0], ""
        elif parts[0] in _KNOWN_OS:
            os_name, arch = parts[0], parts[1]
            variant = parts[2] if len(parts) == 3 else ""
        else:
            raise UsageError(
                f"invalid platform {text!r}: unknown operating system {parts[0]!r}",
                hint="use os/arch[/variant], e.g. linux/arm64",
            )
        return cls.normalized(os_name, arch, variant, original=text)

    @classmethod
    def normalized(cls, os_name: str, arch: str, variant: str = "", *, original: str | None = None) -> Platform:
        """Build a platform from parts, applying the aliases and default variants."""
        key = arch.lower()
        if key not in _ARCH_ALIASES:
            raise UsageError(
                f"invalid platform {original or arch!r}: unknown architecture {arch!r}",
                hint="known: " + ", ".join(sorted(set(_ARCH_ALIASES.values()))),
            )
        norm, var = _normalize_arch(key, variant.lower() or _ALIAS_VARIANT.get(key, ""))
        return cls(os_name.lower(), norm, var)

    @classmethod
    def host(cls) -> Platform:
        """The platform of the machine dockyard runs on (``BUILDPLATFORM``)."""
        return cls.normalized("linux", os.uname().machine)

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def normal(self) -> Platform:
        """This platform in containerd's normal form; unknown architectures are kept as written.

        Index entries are read as the registry wrote them (``arm64/v8`` stays visible in
        ``imagetools inspect``); comparisons go through this form, as containerd's matcher
        normalises both sides (containerd/platforms ``NewMatcher``/``Normalize``).
        """
        arch, variant = _normalize_arch(self.architecture.lower(), self.variant.lower())
        return Platform(self.os.lower(), arch, variant)

    def same(self, other: Platform) -> bool:
        """Equal once both are normalised: ``linux/arm64`` is ``linux/arm64/v8``."""
        return self.normal() == other.normal()

    def matches(self, other: Platform) -> bool:
        """True when an image for ``other`` satisfies a request for ``self``.

        Both are normalised first, so an arm64 entry with or without ``v8`` satisfies
        ``linux/arm64``; an entry without a variant also satisfies any variant request
        (and vice versa for ``amd64`` micro-levels).
        """
        want, have = self.normal(), other.normal()
        if (want.os, want.architecture) != (have.os, have.architecture):
            return False
        return not want.variant or not have.variant or want.variant == have.variant

    def to_oci(self) -> dict[str, str]:
        """The ``platform`` object of an OCI index entry or image config."""
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out


def _normalize_arch(arch: str, variant: str) -> tuple[str, str]:
    """containerd/platforms database.go ``normalizeArch``, after dockyard's extra aliases."""
    arch = _ARCH_ALIASES.get(arch, arch)
    if variant.isdigit():
        variant = "v" + variant
    if arch == "386" or (arch == "amd64" and variant == "v1"):
        variant = ""
    elif arch == "arm64":
        if variant in ("v8", "v8.0"):
            variant = ""
        elif variant in ("9.0", "v9.0"):
            variant = "v9"
    elif arch == "arm" and not variant:
        variant = "v7"
    return arch, variant


def parse_platforms(text: str) -> list[Platform]:
    """Parse a comma-separated ``--platform`` list, keeping order and dropping duplicates."""
    seen: list[Platform] = []
    for part in text.split(","):
        if not part.strip():
            continue
        plat = Platform.parse(part)
        if plat not in seen:
            seen.append(plat)
    if not seen:
        raise UsageError("empty --platform list", hint="e.g. --platform linux/amd64,linux/arm64")
    return seen

"""Image references: ``[registry/]repository[:tag][@digest]`` with Docker's defaults.

``busybox`` means ``docker.io/library/busybox:latest``, whose API lives at
``index.docker.io``. The first path component is a registry only when it looks like a host
(has a dot or a port, or is ``localhost``), exactly as Docker decides, so
``127.0.0.1:5000/app`` and ``localhost/app`` are registries and ``user/app`` is on Docker Hub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dockyard.digest import Digest
from dockyard.errors import UsageError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "index.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HOST = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]+)?$")
_HINT = "use [registry[:port]/]repository[:tag][@sha256:digest], e.g. 127.0.0.1:5000/app:v1"


def _invalid(text: str, why: str) -> UsageError:
    return UsageError(f"invalid image reference {text!r}: {why}", hint=_HINT)


def normalize_registry(host: str) -> str:
    """Docker Hub's aliases collapse to ``docker.io``; other hosts are kept as written."""
    return DOCKER_HUB if host.lower() in _HUB_ALIASES else host


@dataclass(frozen=True)
class Reference:
    """A parsed reference; ``str()`` gives the fully qualified form."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str, *, default_tag: str | None = "latest") -> Reference:
        """Parse ``text``; without a tag or digest, ``default_tag`` is used (None keeps none)."""
        rest = text.strip()
        if not rest:
            raise _invalid(text, "empty")
        digest = None
        if "@" in rest:
            rest, _, digest_text = rest.partition("@")
            try:
                digest = Digest.parse(digest_text)
            except UsageError:
                raise _invalid(text, f"bad digest {digest_text!r}") from None
        tag = None
        slash, colon = rest.rfind("/"), rest.rfind(":")
        if colon > slash:
            rest, tag = rest[:colon], rest[colon + 1:]
            if not _TAG.match(tag):
                raise _invalid(text, f"bad tag {tag!r}")
        first, sep, remainder = rest.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
            if not _HOST.match(first):
                raise _invalid(text, f"bad registry host {first!r}")
            registry, path = normalize_registry(first), remainder
        else:
            registry, path = DOCKER_HUB, rest
        if registry == DOCKER_HUB and "/" not in path:
            path = f"library/{path}"
        if not path or not all(_COMPONENT.match(c) for c in path.split("/")):
            raise _invalid(text, "repository names use lowercase letters, digits and . _ - separators")
        if len(registry) + 1 + len(path) > 255:
            raise _invalid(text, "name longer than 255 characters")
        if tag is None and digest is None:
            tag = default_tag
        return cls(registry, path, tag, digest)

    @property
    def api_host(self) -> str:
        """The host (and port) that serves the Distribution API for this registry."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        """``registry/repository`` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What goes after ``/manifests/``: the digest when there is one, else the tag."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or "latest"

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest) -> Reference:
        return replace(self, digest=digest)

    def in_repository(self, other: Reference) -> bool:
        return (self.registry, self.repository) == (other.registry, other.repository)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

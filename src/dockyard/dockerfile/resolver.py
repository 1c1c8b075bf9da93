"""How the frontend learns about base images: a small protocol the registry client fills.

Planning needs a base image's config (its ENV, WORKDIR, USER, and ONBUILD triggers) but
must not depend on how images are fetched. The engine passes an :class:`ImageResolver`;
tests pass a dictionary-backed fake. Without a resolver, base images count as empty
configs (no triggers), which is enough for outlines, checks and dry runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from dockyard.platform import Platform


class ImageResolver(Protocol):
    """Returns the OCI image config JSON of ``ref`` for ``platform``, or None if unknown."""

    def image_config(self, ref: str, platform: Platform) -> Mapping[str, Any] | None: ...


class StaticResolver:
    """A resolver over a fixed table ``{(ref, "os/arch[/variant]"): config}`` or ``{ref: config}``."""

    def __init__(self, table: Mapping[Any, Mapping[str, Any]]) -> None:
        self.table = dict(table)
        self.calls: list[tuple[str, str]] = []

    def image_config(self, ref: str, platform: Platform) -> Mapping[str, Any] | None:
        self.calls.append((ref, str(platform)))
        return self.table.get((ref, str(platform))) or self.table.get(ref)

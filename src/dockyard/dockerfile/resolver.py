"""How the frontend learns about base images: a small protocol the registry client fills.

Planning needs a base image's config (its ENV, WORKDIR, USER, and ONBUILD triggers) but
must not depend on how images are fetched. The engine passes an :class:`ImageResolver`;
tests pass a dictionary-backed fake. Without a resolver, base images count as empty
configs (no triggers), which is enough for outlines, checks and dry runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform


class ImageResolver(Protocol):
    """Returns the image config of ``ref`` for ``platform`` (parsed once, by whoever read it), or
    None if unknown."""

    def image_config(self, ref: str, platform: Platform) -> ImageConfig | None: ...


class StaticResolver:
    """A resolver over a fixed table of config documents ``{(ref, "os/arch[/variant]"): doc}`` or
    ``{ref: doc}``; a document without ``architecture``/``os`` is for the platform asked for."""

    def __init__(self, table: Mapping[Any, Mapping[str, Any]]) -> None:
        self.table = dict(table)
        self.calls: list[tuple[str, str]] = []

    def image_config(self, ref: str, platform: Platform) -> ImageConfig | None:
        self.calls.append((ref, str(platform)))
        doc = self.table.get((ref, str(platform))) or self.table.get(ref)
        if doc is None:
            return None
        full = dict(doc) if "architecture" in doc else {**platform.to_oci(), **doc}
        return ImageConfig.from_json(full, what=f"image config of {ref}")

"""The parts of an image config the differential test compares, read from an OCI layout.

Both builders' results are compared on the fields a container runtime acts on. Values that
mean "not set" come in several spellings (absent, null, "", [], {}): buildah writes empty
strings and lists where BuildKit leaves the key out, and neither changes what a runtime
does, so they are all folded to "absent" before comparing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FIELDS = ("Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
                 "StopSignal", "Healthcheck", "Shell", "OnBuild")

# Docker-only fields: the OCI image spec has no place for them, so buildah drops them when it
# converts its Docker-format config to OCI on ``buildah push oci:...``; BuildKit keeps them in
# its OCI config as extra keys. For buildah they are read from ``buildah inspect``'s Docker view.
DOCKER_ONLY_FIELDS = ("Healthcheck", "Shell", "OnBuild")


@dataclass(frozen=True)
class ImageView:
    """An image's compared config fields and its history as layer-producing instruction names."""

    config: dict[str, Any]
    history: tuple[dict[str, Any], ...]
    layer_steps: tuple[str, ...]
    layer_count: int
    architecture: str


def _blob(layout: Path, digest: str) -> dict[str, Any]:
    algo, _, hexpart = digest.partition(":")
    data: dict[str, Any] = json.loads((layout / "blobs" / algo / hexpart).read_text())
    return data


def config_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The compared fields of a ``config`` object, with every spelling of "unset" removed."""
    return {k: config[k] for k in CONFIG_FIELDS if config.get(k) not in (None, "", [], {})}


def step_name(created_by: str) -> str:
    """The instruction a history entry records: BuildKit writes ``COPY a /b # buildkit`` and
    ``RUN /bin/sh -c ...``; buildah writes ``/bin/sh -c #(nop) COPY file:... in /b`` for
    instructions and the bare command line for RUN."""
    if "#(nop) " in created_by:
        return created_by.split("#(nop) ", 1)[1].split(maxsplit=1)[0].upper()
    if created_by.startswith("/bin/sh -c") or created_by.startswith("|"):
        return "RUN"
    return created_by.split(maxsplit=1)[0].upper() if created_by.strip() else "?"


def read(layout: Path, tag: str = "latest", *, docker_config: dict[str, Any] | None = None) -> ImageView:
    """The image tagged ``tag`` in ``layout``; ``docker_config`` supplies :data:`DOCKER_ONLY_FIELDS`."""
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    manifest = _blob(layout, desc["digest"])
    config = _blob(layout, manifest["config"]["digest"])
    fields = dict(config.get("config") or {})
    if docker_config is not None:
        for name in DOCKER_ONLY_FIELDS:
            fields[name] = docker_config.get(name)
    history = config.get("history") or []
    steps = tuple(step_name(h.get("created_by", "")) for h in history if not h.get("empty_layer"))
    return ImageView(config=config_fields(fields), history=tuple(history), layer_steps=steps,
                     layer_count=len(manifest["layers"]), architecture=config.get("architecture", ""))

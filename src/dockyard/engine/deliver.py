"""After a build: push to registries, write outputs and metadata, as buildx does.

Pushes are grouped by repository, so an image tagged twice in one repository is uploaded
once and tagged twice; tags in other repositories or registries get their own push, and
every push writes its tags only after all content is in place (the registry client's rule).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from dockyard.engine.build import BuildResult
from dockyard.reference import Reference
from dockyard.registry.client import Client


def push(result: BuildResult, names: Sequence[str], *, client: Client) -> list[str]:
    """Push the built image to every name; returns the pushed ``name@digest`` strings."""
    groups: dict[tuple[str, str], list[Reference]] = {}
    for name in names:
        ref = Reference.parse(name)
        groups.setdefault((ref.registry, ref.repository), []).append(ref)
    pushed = []
    for refs in groups.values():
        first = refs[0]
        client.push(first, result.descriptor, result.content, tags=[r.tag for r in refs[1:] if r.tag])
        pushed += [f"{r}@{result.descriptor.digest}" for r in refs]
    return pushed


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_metadata(result: BuildResult, path: Path, *, names: Sequence[str]) -> None:
    """``--metadata-file`` with buildx's keys."""
    desc = result.descriptor
    doc: dict[str, object] = {
        "containerimage.digest": str(desc.digest),
        "containerimage.descriptor": {"mediaType": desc.media_type, "digest": str(desc.digest), "size": desc.size},
    }
    if len(result.configs) == 1:
        doc["containerimage.config.digest"] = str(next(iter(result.configs.values())).digest)
    if names:
        doc["image.name"] = ",".join(names)
    _atomic(path, json.dumps(doc, indent=2) + "\n")


def image_id(result: BuildResult) -> str:
    """The image ID for ``--iidfile``: the config digest for one platform, else the index digest."""
    if len(result.configs) == 1:
        return str(next(iter(result.configs.values())).digest)
    return str(result.descriptor.digest)


def write_iidfile(result: BuildResult, path: Path) -> None:
    _atomic(path, image_id(result))

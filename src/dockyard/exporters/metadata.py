"""``--metadata-file`` and ``--iidfile``: what a build made, for scripts and CI.

The metadata keys are buildx's: ``containerimage.digest`` (the manifest's digest, or the
index's for a multi-platform result: what a registry would serve for the tag),
``containerimage.config.digest`` (single-platform only, as BuildKit reports it),
``containerimage.descriptor`` (``mediaType``, ``digest``, ``size``, plus annotations when
present) and ``image.name`` (the names, comma-joined; absent without names).

The image ID in ``--iidfile`` follows buildx: the config digest when there is one (a
single-platform image; the ID ``docker images`` and ``podman images`` show), else the index
digest. Both files are replaced atomically, and a stale iidfile is removed when a build
starts (:func:`discard_stale`) so a failed build never leaves the previous build's ID.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.digest import Digest
from dockyard.exporters.destination import write_atomic
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.oci.source import read_document
from dockyard.store.content import ContentStore


@dataclass(frozen=True, kw_only=True)
class ImageResult:
    """The facts the two files report about a build result."""

    descriptor: Descriptor
    config_digest: Digest | None  # None for an index
    names: tuple[str, ...] = ()

    @property
    def image_id(self) -> Digest:
        return self.config_digest or self.descriptor.digest


def describe(store: ContentStore, desc: Descriptor, *, names: Sequence[str] = ()) -> ImageResult:
    """The result ``desc`` names, read from ``store`` (the config digest for a single manifest)."""
    config = None
    if mediatypes.is_manifest(desc.media_type):
        config = Manifest.from_bytes(read_document(store, desc), media_type=desc.media_type).config.digest
    return ImageResult(descriptor=desc, config_digest=config, names=tuple(names))


def metadata(result: ImageResult) -> dict[str, Any]:
    """buildx's metadata keys for ``result``."""
    desc: dict[str, Any] = {"mediaType": result.descriptor.media_type, "digest": str(result.descriptor.digest),
                            "size": result.descriptor.size}
    if result.descriptor.annotations:
        desc["annotations"] = dict(result.descriptor.annotations)
    out: dict[str, Any] = {}
    if result.config_digest is not None:
        out["containerimage.config.digest"] = str(result.config_digest)
    out["containerimage.descriptor"] = desc
    out["containerimage.digest"] = str(result.descriptor.digest)
    if result.names:
        out["image.name"] = ",".join(result.names)
    return out


def build_ref(builder: str, node: str) -> str:
    """buildx's ``buildx.build.ref``: BUILDER/NODE/ID, ID a fresh 25-character lowercase identifier
    (buildx's identity.NewID shape); dockyard keeps no build history to look it up in."""
    import secrets  # the one caller of the module (~0.2 ms a start otherwise)

    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return f"{builder}/{node}/" + "".join(secrets.choice(alphabet) for _ in range(25))


def write_metadata_file(path: Path, result: ImageResult, *, extra: Mapping[str, Any] | None = None) -> None:
    """Write the metadata JSON (``extra`` keys, e.g. ``buildx.build.ref``, added) atomically."""
    doc = {**metadata(result), **(extra or {})}
    write_atomic(path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())


def write_iidfile(path: Path, result: ImageResult) -> None:
    """Write the image ID (``sha256:...``, no newline, as buildx writes it) atomically."""
    write_atomic(path, str(result.image_id).encode())


def discard_stale(path: Path | None) -> None:
    """Remove an iidfile or metadata file left by an earlier build (call when a build starts)."""
    if path is not None:
        path.unlink(missing_ok=True)

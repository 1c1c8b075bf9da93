"""Writing one platform's image: config and manifest blobs from a built filesystem and its planned config.

A node does this at the end of its solve (it has the layers); the index over platforms is
the client's assemble phase (:mod:`dockyard.phases.assemble`). ``oci=False`` writes Docker
schema2 media types (buildx's ``oci-mediatypes=false``) for registries and tools that still need them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

from dockyard.engine.results import FsResult
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.content import ContentStore

_TO_DOCKER = {mediatypes.OCI_LAYER_GZIP: mediatypes.DOCKER_LAYER_GZIP}


def created_at(epoch: int | None) -> str:
    """The ``created`` time of the image: SOURCE_DATE_EPOCH when given (whole seconds), else now."""
    when = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if epoch is not None else when.isoformat().replace("+00:00", "Z")


def config_document(planned: Mapping[str, Any], result: FsResult, *, created: str,
                    extra: Mapping[str, Any] = {}) -> dict[str, Any]:
    """The image config JSON: the planned config document, the layers' diff_ids, and the creation
    time (``extra``: more top-level fields, e.g. the inline cache records)."""
    ordered: dict[str, Any] = {"created": created}
    ordered.update(deepcopy(dict(planned)))
    ordered["rootfs"] = {"type": "layers", "diff_ids": [str(layer.diff_id) for layer in result.layers]}
    history = ordered.pop("history", [])
    for row in history:
        row.setdefault("created", created)
    ordered["history"] = history
    ordered.update(extra)
    return ordered


def write_image(content: ContentStore, planned: Mapping[str, Any], result: FsResult, *, platform: Platform,
                created: str, oci: bool = True, extra: Mapping[str, Any] = {}) -> tuple[Descriptor, Descriptor]:
    """Store the config and manifest; return (manifest descriptor with platform, config descriptor)."""
    config_bytes = canonical.encode(config_document(planned, result, created=created, extra=extra))
    config_type = mediatypes.OCI_CONFIG if oci else mediatypes.DOCKER_CONFIG
    content.ingest_bytes(config_bytes)
    config = Descriptor.of_bytes(config_type, config_bytes)
    layers = tuple(
        Descriptor(layer.media_type if oci else _TO_DOCKER.get(layer.media_type, layer.media_type),
                   layer.digest, layer.size)
        for layer in result.layers
    )
    manifest = Manifest(config=config, layers=layers,
                        media_type=mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST)
    data = manifest.to_bytes()
    content.ingest_bytes(data)
    return manifest.descriptor(platform=platform), config

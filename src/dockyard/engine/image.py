"""Writing one platform's image: config and manifest blobs from a built filesystem and its planned config.

A node does this at the end of its solve (it has the layers); the index over platforms is
the client's assemble phase (:mod:`dockyard.phases.assemble`). ``oci=False`` writes Docker
schema2 media types (buildx's ``oci-mediatypes=false``) for registries and tools that still need them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from dockyard.engine.results import FsResult
from dockyard.errors import BuildError
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.layer import LayerOptions, open_uncompressed, recompress, sniff
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.cache import LayerRecord
from dockyard.store.content import ContentStore

_TO_DOCKER = {mediatypes.OCI_LAYER_GZIP: mediatypes.DOCKER_LAYER_GZIP}


def created_at(epoch: int | None) -> str:
    """The ``created`` time of the image: SOURCE_DATE_EPOCH when given (whole seconds), else now."""
    when = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if epoch is not None else when.isoformat().replace("+00:00", "Z")


def force_compression(content: ContentStore, result: FsResult, options: LayerOptions) -> FsResult:
    """``force-compression=true``: every layer in ``options.compression``, base image layers too.

    Without it, BuildKit (and dockyard) keep a base layer's blob as pulled, whatever its
    compression; with it, BuildKit's exporter converts the others (exporter/containerimage
    ``ImageWriter.exportLayers`` with ``Force``). The content is unchanged, so the diff_id is.
    """
    wanted = options.compression
    layers = []
    for layer in result.layers:
        with content.open(layer.digest) as blob:
            current = sniff(blob.read(4))
        if current is wanted:
            layers.append(layer)
            continue
        with open_uncompressed(content.path(layer.digest)) as tar, content.writer() as out:
            diff_id = recompress(tar, out, options=options)  # type: ignore[arg-type]
        if out.committed is None or diff_id != layer.diff_id:
            raise BuildError(f"layer {layer.digest} does not hold the content its diff_id {layer.diff_id} names",
                             hint="the base image in the store is damaged: run `dockyard prune --all` and build again")
        layers.append(LayerRecord(digest=out.committed.digest, diff_id=diff_id, size=out.committed.size,
                                  media_type=wanted.media_type))
    return FsResult(top=result.top, chain=tuple(layers))


def config_bytes(planned: ImageConfig, result: FsResult, *, created: str,
                 extra: Mapping[str, Any] = {}) -> bytes:
    """The image config: the planned config, the layers' diff_ids, and the creation time, which
    also stamps the history rows that have none (``extra``: more top-level fields, e.g. the
    inline cache records)."""
    image = replace(planned, created=created, diff_ids=tuple(layer.diff_id for layer in result.layers),
                    extra={**planned.extra, **extra})
    return image.to_bytes(stamp_history=True)


def write_image(content: ContentStore, planned: ImageConfig, result: FsResult, *, platform: Platform,
                created: str, oci: bool = True, extra: Mapping[str, Any] = {}, annotations: Mapping[str, str] = {},
                descriptor_annotations: Mapping[str, str] = {}) -> PlatformImage:
    """Store the config and manifest; return the image (its descriptor carries ``platform``).

    ``annotations`` go into the manifest, ``descriptor_annotations`` onto its descriptor (its
    entry in an index or an OCI layout's index.json), as BuildKit's image writer puts them."""
    config_data = config_bytes(planned, result, created=created, extra=extra)
    config_type = mediatypes.OCI_CONFIG if oci else mediatypes.DOCKER_CONFIG
    content.ingest_bytes(config_data)
    config = Descriptor.of_bytes(config_type, config_data)
    layers = tuple(
        Descriptor(layer.media_type if oci else _TO_DOCKER.get(layer.media_type, layer.media_type),
                   layer.digest, layer.size)
        for layer in result.layers
    )
    manifest = Manifest(config=config, layers=layers,
                        media_type=mediatypes.OCI_MANIFEST if oci else mediatypes.DOCKER_MANIFEST,
                        annotations=dict(annotations))
    data = manifest.to_bytes()
    content.ingest_bytes(data)
    return PlatformImage(descriptor=manifest.descriptor(platform=platform, annotations=dict(descriptor_annotations)),
                         manifest=manifest, config=ImageConfig.from_bytes(config_data))

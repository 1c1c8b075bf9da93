"""Assemble phase: from each platform's built filesystem and planned config to config, manifest and index.

Everything is written to the content store and described by descriptors, which is what the
exporters and the registry client take. ``oci=False`` writes Docker schema2 media types
(buildx's ``oci-mediatypes=false``) for registries and tools that still need them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.dockerfile.imageconfig import ImageConfig as PlannedConfig
from dockyard.dockerfile.plan import Plan
from dockyard.engine.cachemanifest import INLINE_FIELD, inline_field
from dockyard.engine.results import FsResult
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.phases.request import BuildOptions
from dockyard.phases.solve import Solved
from dockyard.platform import Platform
from dockyard.store.content import ContentStore

_TO_DOCKER = {mediatypes.OCI_LAYER_GZIP: mediatypes.DOCKER_LAYER_GZIP}


def config_document(planned: PlannedConfig, result: FsResult, *, created: str,
                    labels: Mapping[str, str] = {}, extra: Mapping[str, Any] = {}) -> dict[str, Any]:
    """The image config JSON: the planned config, the layers' diff_ids, and the creation time
    (``extra``: more top-level fields, e.g. the inline cache records)."""
    for key, value in labels.items():
        planned = planned.with_label(key, value)
    doc = planned.to_oci()
    ordered: dict[str, Any] = {"created": created}
    ordered.update(doc)
    ordered["rootfs"] = {"type": "layers", "diff_ids": [str(layer.diff_id) for layer in result.layers]}
    history = ordered.pop("history", [])
    for row in history:
        row.setdefault("created", created)
    ordered["history"] = history
    ordered.update(extra)
    return ordered


def write_image(content: ContentStore, planned: PlannedConfig, result: FsResult, *, created: str,
                labels: Mapping[str, str] = {}, oci: bool = True,
                extra: Mapping[str, Any] = {}) -> tuple[Descriptor, Descriptor]:
    """Store the config and manifest; return (manifest descriptor with platform, config descriptor)."""
    config_bytes = canonical.encode(config_document(planned, result, created=created, labels=labels, extra=extra))
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
    return manifest.descriptor(platform=planned.platform), config


def write_index(content: ContentStore, manifests: Sequence[Descriptor], *, oci: bool = True) -> Descriptor:
    """Store an index over ``manifests`` (each carrying its platform)."""
    index = Index(manifests=tuple(manifests),
                  media_type=mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_MANIFEST_LIST)
    data = index.to_bytes()
    content.ingest_bytes(data)
    return index.descriptor()


def created_at(epoch: int | None) -> str:
    """The ``created`` time of the image: SOURCE_DATE_EPOCH when given (whole seconds), else now."""
    when = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if epoch is not None else when.isoformat().replace("+00:00", "Z")


def assemble(content: ContentStore, the_plan: Plan, solved: Solved,
             options: BuildOptions) -> tuple[Descriptor, dict[Platform, Descriptor], dict[Platform, Descriptor]]:
    """Write every platform's image; return (top descriptor, manifests, configs) by platform.

    The top is the single manifest, or an index over all manifests when there are several.
    """
    created = created_at(options.source_date_epoch)
    inline_cache = any(c.kind == "inline" for c in options.cache_to)
    manifests: dict[Platform, Descriptor] = {}
    configs: dict[Platform, Descriptor] = {}
    for pp, result in zip(the_plan.platforms, solved.finals, strict=True):
        inline = {INLINE_FIELD: inline_field(solved.records, result.layers)} if inline_cache else {}
        manifests[pp.platform], configs[pp.platform] = write_image(
            content, pp.config, result, created=created, labels=options.labels, oci=options.oci_mediatypes,
            extra=inline)
    if len(manifests) == 1:
        top = next(iter(manifests.values()))
    else:
        top = write_index(content, list(manifests.values()), oci=options.oci_mediatypes)
    return top, manifests, configs

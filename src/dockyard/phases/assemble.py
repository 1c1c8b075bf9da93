"""Assemble phase: the platforms' images (written by their nodes) become one result: a manifest or an index.

Everything is in the content store and described by descriptors, which is what the
exporters and the registry client take. ``oci=False`` writes a Docker manifest list
(buildx's ``oci-mediatypes=false``) for registries and tools that still need one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.store.content import ContentStore


def write_index(content: ContentStore, manifests: Sequence[Descriptor], *, oci: bool = True,
                annotations: Mapping[str, str] = {}) -> Descriptor:
    """Store an index over ``manifests`` (each carrying its platform), with ``annotations``."""
    index = Index(manifests=tuple(manifests),
                  media_type=mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_MANIFEST_LIST,
                  annotations=dict(annotations))
    data = index.to_bytes()
    content.ingest_bytes(data)
    return index.descriptor()


def assemble(content: ContentStore, manifests: Sequence[Descriptor], *, oci: bool = True,
             annotations: Mapping[str, str] = {}) -> Descriptor:
    """The single manifest, or an index (with ``annotations``) over all of them when there are several."""
    if len(manifests) == 1:
        return manifests[0]
    return write_index(content, manifests, oci=oci, annotations=annotations)

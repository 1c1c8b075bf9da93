"""Content sources: where an image's documents and blobs are read from, whatever holds them.

A :class:`ContentSource` opens a blob by digest. The content store, an OCI layout's store
and a registry-backed source (``registry.client.FetchingSource``) all implement it, so
walking an image (:func:`walk`) and reading its documents (:func:`read_document`) are the
same code for a build result, a layout on disk and a remote image, and nothing here needs
the network: writing an OCI layout never imports the HTTP client.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol

from dockyard.digest import Digest, verify
from dockyard.errors import RegistryError
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest


class ContentSource(Protocol):
    """Opens blobs by digest: a ContentStore, an OCI layout's ``.store``, a fetching source."""

    def open(self, digest: Digest) -> BinaryIO: ...


def read_document(source: ContentSource, desc: Descriptor) -> bytes:
    """A manifest/index/config from ``source``, verified against its descriptor."""
    with source.open(desc.digest) as f:
        data = f.read(desc.size + 1)
    verify(desc.digest, Digest.of_bytes(data), what=f"{desc.media_type} {desc.digest}")
    return data


def walk(source: ContentSource, desc: Descriptor) -> tuple[bytes, list[tuple[Descriptor, bytes]],
                                                        dict[Digest, Descriptor]]:
    """The document ``desc`` names, its platform manifests (with bytes), and every blob they use."""
    data = read_document(source, desc)
    children: list[tuple[Descriptor, bytes]] = []
    if mediatypes.is_index(desc.media_type):
        for child in Index.from_bytes(data, media_type=desc.media_type).manifests:
            children.append((child, read_document(source, child)))
    else:
        children.append((desc, data))
    parts: dict[Digest, Descriptor] = {}
    for child, child_data in children:
        if mediatypes.is_index(child.media_type):
            raise RegistryError(f"nested index {child.digest} is not supported", hint="flatten the index first")
        manifest = Manifest.from_bytes(child_data, media_type=child.media_type)
        for part in (manifest.config, *manifest.layers):
            parts.setdefault(part.digest, part)
    return data, children, parts


"""One platform's image: a manifest, its config, and the layers the manifest names.

:class:`PlatformImage` is the one record for it, whoever made it: a pull (``registry.client``),
a build (``engine.image.write_image`` on a node; ``phases.result.BuildResult.images``), an
export (every file exporter starts from :func:`platform_images`) and ``imagetools``. The config
is parsed once, when the record is made. The layers are descriptors only: whether their blobs
are at hand is the holder's business (planning pulls a base image's manifest and config, and
``registry.client.Client.fetch_layers`` brings its layers when a step needs them).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.errors import UsageError
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.oci.source import ContentSource, read_document
from dockyard.platform import Platform


@dataclass(frozen=True, kw_only=True)
class PlatformImage:
    """``descriptor`` names the manifest (its platform set); ``index`` is the index the image was
    chosen from when a reference named one (what ``ref@<index digest>`` pins), else None."""

    descriptor: Descriptor
    manifest: Manifest
    config: ImageConfig
    index: Descriptor | None = None

    @property
    def platform(self) -> Platform:
        return self.descriptor.platform or self.config.platform

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.manifest.layers

    @classmethod
    def of(cls, descriptor: Descriptor, manifest: Manifest, config: ImageConfig, *,
           index: Descriptor | None = None) -> PlatformImage:
        """The record, its descriptor given the config's platform when it has none."""
        if descriptor.platform is None:
            descriptor = descriptor.with_platform(config.platform)
        return cls(descriptor=descriptor, manifest=manifest, config=config, index=index)


def load_image(source: ContentSource, desc: Descriptor, *, index: Descriptor | None = None) -> PlatformImage:
    """A single-platform manifest and its config from ``source``, both verified against their digests."""
    manifest = Manifest.from_bytes(read_document(source, desc), media_type=desc.media_type)
    return PlatformImage.of(desc, manifest, ImageConfig.from_bytes(read_document(source, manifest.config)),
                            index=index)


def platform_images(source: ContentSource, desc: Descriptor) -> list[PlatformImage]:
    """The images ``desc`` names: itself for a manifest, each image entry for an index (attestation
    manifests in an index are not images and are left out)."""
    if mediatypes.is_manifest(desc.media_type):
        return [load_image(source, desc)]
    if not mediatypes.is_index(desc.media_type):
        raise UsageError(f"{desc.digest} is a {desc.media_type}, not an image or an index")
    index = Index.from_bytes(read_document(source, desc), media_type=desc.media_type)
    return [load_image(source, entry, index=desc) for entry in index.image_entries()
            if mediatypes.is_manifest(entry.media_type)]

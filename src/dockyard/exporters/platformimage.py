"""The platform images a build result holds, read (and verified) from the content store.

Every file-system exporter starts here: a result is one manifest, or an index of several;
each exporter wants a list of (platform, manifest, config). Attestation manifests in an
index are not images and are left out. Directory names per platform follow BuildKit's
``platform-split``: ``linux_amd64``, ``linux_arm_v7``, and ``linux_arm64`` (arm64's ``v8`` is
the default variant, which containerd's normalisation drops, so buildx never shows it).
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.errors import UsageError
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.oci.source import read_document
from dockyard.platform import Platform
from dockyard.store.content import ContentStore


@dataclass(frozen=True, kw_only=True)
class PlatformImage:
    """One runnable image: its manifest descriptor, the manifest, and the parsed config."""

    descriptor: Descriptor
    manifest: Manifest
    config: ImageConfig
    config_bytes: bytes

    @property
    def platform(self) -> Platform:
        return self.descriptor.platform or self.config.platform


def load_image(store: ContentStore, desc: Descriptor) -> PlatformImage:
    """A single-platform manifest and its config; both verified against their digests."""
    manifest = Manifest.from_bytes(read_document(store, desc), media_type=desc.media_type)
    config_bytes = read_document(store, manifest.config)
    config = ImageConfig.from_bytes(config_bytes)
    if desc.platform is None:
        desc = desc.with_platform(config.platform)
    return PlatformImage(descriptor=desc, manifest=manifest, config=config, config_bytes=config_bytes)


def platform_images(store: ContentStore, desc: Descriptor) -> list[PlatformImage]:
    """The images ``desc`` names: itself for a manifest, each image entry for an index."""
    if mediatypes.is_manifest(desc.media_type):
        return [load_image(store, desc)]
    if not mediatypes.is_index(desc.media_type):
        raise UsageError(f"{desc.digest} is a {desc.media_type}, not an image or an index")
    index = Index.from_bytes(read_document(store, desc), media_type=desc.media_type)
    return [load_image(store, entry) for entry in index.image_entries() if mediatypes.is_manifest(entry.media_type)]


def choose_host(images: list[PlatformImage], host: Platform) -> PlatformImage:
    """The one image a single-platform format (a docker archive) can hold.

    A single image is taken whatever its platform; from several, the host's, as buildx's
    ``--load`` of a multi-platform result does; without one, an error listing them.
    """
    if len(images) == 1:
        return images[0]
    exact = [i for i in images if host.same(i.platform)]
    loose = [i for i in images if host.matches(i.platform)]
    if exact or loose:
        return (exact or loose)[0]
    have = ", ".join(str(i.platform) for i in images)
    raise UsageError(f"a docker archive holds one platform, and the result has {have} but not {host}",
                     hint="build with --platform for one of them, or use -o type=oci,dest=... for all")


def dirname(platform: Platform) -> str:
    """``linux_amd64``, ``linux_arm64``, ``linux_arm_v7``: the per-platform directory of a split export."""
    normal = platform.normal()
    parts = [normal.os, normal.architecture]
    if normal.variant:
        parts.append(normal.variant)
    return "_".join(parts)

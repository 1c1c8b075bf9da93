"""The ``docker`` exporter: a ``docker save`` archive that ``podman load`` and ``docker load`` read.

The archive holds one image: ``manifest.json`` (``Config``, ``RepoTags``, ``Layers``), the
config blob as ``<config hex>.json``, each layer uncompressed as ``<diff_id hex>/layer.tar``
(the format's layers are the tars the config's ``rootfs.diff_ids`` hash, whatever the
registry compression) and ``repositories`` (the legacy name -> top layer map older loaders
read). Names are written as docker shows them (``busybox:latest``, ``127.0.0.1:5000/app:1``).

The format cannot hold an index. From a multi-platform result the host's platform is taken
(what ``docker buildx build --load`` loads), and when the host's is not among them the error
lists those it has; ``-o type=oci`` keeps every platform.

Each compressed layer is read twice: once to learn its uncompressed size (a tar header needs
it before the data) and check it against the diff_id, then again into the archive. Nothing
is spooled to disk, so only the finished archive is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from dockyard.digest import CHUNK, Digest
from dockyard.errors import StoreError
from dockyard.exporters.archive import TarWriter
from dockyard.exporters.destination import open_destination
from dockyard.exporters.platforms import choose_host
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage, platform_images
from dockyard.oci.layer import open_uncompressed
from dockyard.oci.source import read_document
from dockyard.platform import Platform
from dockyard.reference import DOCKER_HUB, Reference
from dockyard.store.content import ContentStore

_UNCOMPRESSED = {mediatypes.OCI_LAYER, "application/vnd.docker.image.rootfs.diff.tar"}


def familiar(ref: Reference) -> tuple[str, str | None]:
    """(repository as docker shows it, tag): ``docker.io/library/busybox`` -> ``busybox``."""
    hub = ref.registry == DOCKER_HUB
    return (ref.repository.removeprefix("library/") if hub else f"{ref.registry}/{ref.repository}"), ref.tag


def _measure(store: ContentStore, layer: Descriptor, diff_id: Digest) -> int:
    """The uncompressed size of ``layer``, checked against the config's ``diff_id``."""
    if layer.media_type in _UNCOMPRESSED:
        return layer.size
    digest, size = hashlib.sha256(), 0
    with open_uncompressed(store.path(layer.digest)) as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    if Digest("sha256", digest.hexdigest()) != diff_id:
        raise StoreError(f"layer {layer.digest} does not uncompress to its diff_id {diff_id}",
                         hint="the stored image is inconsistent; rebuild it")
    return size


def manifest_json(image: PlatformImage, names: Sequence[str]) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The ``manifest.json`` list and the ``repositories`` map of an archive holding ``image``."""
    layers = [f"{d.hex}/layer.tar" for d in image.config.diff_ids]
    tags: list[str] = []
    repositories: dict[str, dict[str, str]] = {}
    for name in names:
        repo, tag = familiar(Reference.parse(name))
        if tag is None:
            continue  # a digest-only name is no tag
        if f"{repo}:{tag}" not in tags:
            tags.append(f"{repo}:{tag}")
        if image.config.diff_ids:
            repositories.setdefault(repo, {})[tag] = image.config.diff_ids[-1].hex
    entry: dict[str, object] = {"Config": f"{image.manifest.config.digest.hex}.json", "RepoTags": tags,
                                "Layers": layers}
    return [entry], dict(repositories)


def write_docker_tar(store: ContentStore, desc: Descriptor, dest: Path | None, *, names: Sequence[str] = (),
                     host: Platform | None = None) -> PlatformImage:
    """Write the archive to ``dest`` (None: stdout); returns the image it holds."""
    image = choose_host(platform_images(store, desc), host or Platform.host())
    layers = image.manifest.layers
    diff_ids = image.config.diff_ids
    if len(layers) != len(diff_ids):
        raise StoreError(f"image {image.descriptor.digest} has {len(layers)} layers but {len(diff_ids)} diff_ids",
                         hint="the stored image is inconsistent; rebuild it")
    sizes = {d: _measure(store, layer, d) for layer, d in zip(layers, diff_ids, strict=True)}
    sources = {d: layer for layer, d in zip(layers, diff_ids, strict=True)}
    manifest, repositories = manifest_json(image, names)
    files: dict[str, bytes | Digest] = {
        f"{image.manifest.config.digest.hex}.json": read_document(store, image.manifest.config),
        "manifest.json": json.dumps(manifest, separators=(",", ":")).encode(),
        "repositories": json.dumps(repositories, separators=(",", ":"), sort_keys=True).encode(),
    }
    for diff_id in sources:
        files[f"{diff_id.hex}/layer.tar"] = diff_id
    with open_destination(dest, what="docker archive") as sink:
        tar = TarWriter(sink)
        for name in sorted({*files, *(f"{d.hex}" for d in sources)}):
            item = files.get(name)
            if item is None:
                tar.add_dir(name)
            elif isinstance(item, bytes):
                tar.add_bytes(name, item)
            else:
                with open_uncompressed(store.path(sources[item].digest)) as stream:
                    tar.add_stream(name, sizes[item], stream)
        tar.close()
    return image

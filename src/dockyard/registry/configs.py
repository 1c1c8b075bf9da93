"""Base image configs without their layers: what ``--call=check`` needs to know about a FROM.

BuildKit's lint runs the whole conversion, which resolves every base image's config (its ENV
defines names for UndefinedVar; its platform is compared for InvalidBaseImagePlatform). A
check must not download layers for that, so this resolver fetches only the manifest (the
index entry for the platform) and the config blob.
"""

from __future__ import annotations

from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.registry.client import Client, as_reference
from dockyard.store.content import ContentStore


class ConfigResolver:
    """An ImageResolver (dockerfile/resolver.py) reading configs from registries into ``store``."""

    def __init__(self, client: Client, store: ContentStore) -> None:
        self._client = client
        self._store = store

    def image_config(self, ref: str, platform: Platform) -> ImageConfig:
        reference = as_reference(ref)
        top = self._client.fetch_manifest(reference, store=self._store)
        self._store.ingest_bytes(top.data, expected=top.descriptor.digest)  # the build reads it from here
        chosen = top
        if mediatypes.is_index(top.descriptor.media_type):
            entry = Index.from_bytes(top.data).select(platform)
            chosen = self._client.fetch_manifest(reference, str(entry.digest), store=self._store)
            self._store.ingest_bytes(chosen.data, expected=entry.digest)
        manifest = Manifest.from_bytes(chosen.data, media_type=chosen.descriptor.media_type)
        self._client.fetch_blob(reference, manifest.config, self._store)
        return ImageConfig.from_bytes(self._store.read_bytes(manifest.config.digest))

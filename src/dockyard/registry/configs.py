"""Base image configs without their layers: what ``--call=check`` needs to know about a FROM.

BuildKit's lint runs the whole conversion, which resolves every base image's config (its ENV
defines names for UndefinedVar; its platform is compared for InvalidBaseImagePlatform). A
check must not download layers for that, so this resolver fetches only the manifest (the
index entry for the platform) and the config blob.
"""

from __future__ import annotations

from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


class ConfigResolver:
    """An ImageResolver (dockerfile/resolver.py) reading configs from registries into ``store``."""

    def __init__(self, client: Client, store: ContentStore) -> None:
        self._client = client
        self._store = store

    def image_config(self, ref: str, platform: Platform) -> ImageConfig:
        """The config of the image ``ref`` names for ``platform``: a pull that stops before the layers."""
        return self._client.pull(ref, platform=platform, store=self._store, layers=False).config

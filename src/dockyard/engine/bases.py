"""Base images (FROM): resolved once per build, for planning and for building alike.

The frontend needs each base image's config to plan (ENV, WORKDIR, ONBUILD ...) and the key
phase its manifest digest to pin cache keys (a tag that moved is never served from a stale
cache): :meth:`BaseImages.resolve` reads the manifest and config only. The engine needs the
layers only when the base's step actually runs (a warm build whose steps are all cached never
fetches them): :meth:`BaseImages.pull`. Layers already in the content store are not fetched again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from dockyard.digest import Digest
from dockyard.oci.config import ImageConfig
from dockyard.oci.image import PlatformImage
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


@dataclass(frozen=True, kw_only=True)
class ResolvedBase:
    """A FROM image as resolved for one platform (provenance's ``resolvedDependencies``)."""

    ref: str
    platform: Platform
    digest: Digest


class BaseImages:
    """Implements the frontend's ``ImageResolver`` and gives the engine pulled images."""

    def __init__(self, client: Client, content: ContentStore) -> None:
        self._client = client
        self._content = content
        self._pulled: dict[tuple[str, Platform], PlatformImage] = {}  # manifest and config (resolve)
        self._with_layers: set[tuple[str, Platform]] = set()
        self._locks: dict[tuple[str, Platform], threading.Lock] = {}
        self._guard = threading.Lock()

    def resolve(self, ref: str, platform: Platform) -> PlatformImage:
        """The image ``ref`` names for ``platform``: manifest and config in the content store, no layers."""
        key = (ref, platform)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._pulled:
                self._pulled[key] = self._client.pull(ref, platform=platform, store=self._content, layers=False)
            return self._pulled[key]

    def pull(self, ref: str, platform: Platform) -> PlatformImage:
        """The image :meth:`resolve` found, its layers now in the content store too."""
        image = self.resolve(ref, platform)
        key = (ref, platform)
        with self._guard:
            lock = self._locks[key]
        with lock:
            if key not in self._with_layers:
                self._client.fetch_layers(ref, image, self._content)
                self._with_layers.add(key)
        return image

    def resolved(self) -> list[ResolvedBase]:
        """Every base image pulled so far: the reference, the platform, and the digest the reference
        resolved to (the index's when it names one: what ``FROM ref@sha256:...`` would pin)."""
        with self._guard:
            pulled = sorted(self._pulled.items(), key=lambda item: (item[0][0], str(item[0][1])))
        return [ResolvedBase(ref=ref, platform=platform, digest=(image.index or image.descriptor).digest)
                for (ref, platform), image in pulled]

    def image_config(self, ref: str, platform: Platform) -> ImageConfig:
        """The planner's question (``dockerfile.resolver.ImageResolver``): the config the pull parsed."""
        return self.resolve(ref, platform).config

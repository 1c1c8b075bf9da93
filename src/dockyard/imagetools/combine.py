"""Merge images and indexes into one index and push it under new tags (``imagetools create``).

Sources may live in other repositories or registries: their manifests are fetched (small),
their blobs are mounted when source and target share a registry and otherwise copied through
the content store, fetched only when the target lacks them. The index is OCI unless every
source is a Docker schema2 document, in which case a Docker manifest list keeps them uniform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.errors import UsageError
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client, FetchingSource
from dockyard.registry.errors import NotFoundError
from dockyard.store.content import ContentStore


@dataclass(frozen=True)
class Plan:
    """The index to push, and where each of its blobs can be found."""

    index: Index
    source: FetchingSource

    @property
    def data(self) -> bytes:
        return self.index.to_bytes()


def parse_source(text: str, targets: Sequence[Reference]) -> Reference:
    """A source reference; a bare digest means that digest in the first target's repository."""
    if text.startswith("sha256:"):
        if not targets:
            raise UsageError(f"source {text} is a bare digest but no -t target names its repository")
        return Reference(targets[0].registry, targets[0].repository, None, Reference.parse(f"x@{text}").digest)
    return Reference.parse(text)


def _entries(client: Client, ref: Reference, source: FetchingSource, store: ContentStore,
             platforms: Sequence[Platform]) -> list[Descriptor]:
    """The index entries ``ref`` contributes (filtered by ``platforms``), manifests stored, blobs noted."""
    top = client.fetch_manifest(ref)
    store.ingest_bytes(top.data, expected=top.descriptor.digest)
    if mediatypes.is_index(top.descriptor.media_type):
        entries = list(Index.from_bytes(top.data, media_type=top.descriptor.media_type).manifests)
        if platforms:
            entries = [e for e in entries if e.platform is not None and any(p.matches(e.platform) for p in platforms)]
    else:
        entries = [top.descriptor]
    out = []
    for entry in entries:
        if not store.has(entry.digest):
            fetched = client.fetch_manifest(ref, str(entry.digest))
            store.ingest_bytes(fetched.data, expected=entry.digest)
        if not mediatypes.is_manifest(entry.media_type):
            raise UsageError(f"{ref}: entry {entry.digest} is a {entry.media_type}, not an image manifest",
                             hint="nested indexes cannot be merged")
        manifest = Manifest.from_bytes(store.read_bytes(entry.digest), media_type=entry.media_type)
        for part in (manifest.config, *manifest.layers):
            source.expect(part, ref)
        client.remember(ref, [manifest.config.digest, *(d.digest for d in manifest.layers)])
        if entry.platform is None:
            client.fetch_blob(ref, manifest.config, store)
            config = ImageConfig.from_bytes(store.read_bytes(manifest.config.digest))
            if platforms and not any(p.matches(config.platform) for p in platforms):
                continue
            out.append(entry.with_platform(config.platform))
        else:
            out.append(entry)
    return out


def plan(client: Client, sources: Sequence[Reference], *, store: ContentStore,
         platforms: Sequence[Platform] = (), append: Reference | None = None) -> Plan:
    """Fetch the sources' manifests and compute the merged index (nothing is pushed)."""
    refs = list(sources)
    if append is not None:
        try:
            client.resolve(append)
            refs.insert(0, append)
        except NotFoundError:
            pass  # nothing to append to yet: create
    if not refs:
        raise UsageError("no source images given", hint="name at least one SOURCE image or index")
    fetching = FetchingSource(client, refs[0], store)
    entries: list[Descriptor] = []
    for ref in refs:
        keep = () if ref is append else platforms  # --platform filters the sources, not what is appended to
        for entry in _entries(client, ref, fetching, store, keep):
            if all(e.digest != entry.digest for e in entries):
                entries.append(entry)
    if not entries:
        wanted = ", ".join(str(p) for p in platforms)
        raise UsageError(f"the sources have no image for {wanted or 'any platform'}")
    docker = all(e.media_type == mediatypes.DOCKER_MANIFEST for e in entries)
    media_type = mediatypes.DOCKER_MANIFEST_LIST if docker else mediatypes.OCI_INDEX
    return Plan(Index(manifests=tuple(entries), media_type=media_type), fetching)


def push(client: Client, result: Plan, targets: Sequence[Reference], *, store: ContentStore) -> Descriptor:
    """Push the planned index to every target (blobs and manifests first, tags last)."""
    data = result.data
    store.ingest_bytes(data)
    desc = Descriptor.of_bytes(result.index.media_type, data)
    for target in targets:
        client.push(target, desc, result.source)
    return desc

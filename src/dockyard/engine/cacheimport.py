"""``--cache-from``: the records of exported caches, read before solving, blobs fetched on a hit.

Loading reads only small documents: the cache manifest and its config (or, for an image with
inline cache, each platform's manifest and config). Layer blobs stay where they are until the
solver asks the worker for a vertex that the local store lacks and an imported record has;
the worker then calls :meth:`ImportedCache.fetch` for that record's chain and unpacks it.
Because planning is top-down, a fully cached build fetches the final chain only, never the
intermediate stages' blobs.

A source that cannot be read (no such tag, registry down, not a cache) is a warning, not a
failure, as in BuildKit: a cold cache must never break a build. Cache mount contents listed by
a source are restored before the build into mount directories that are missing or empty.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from dockyard import progress
from dockyard.digest import Digest
from dockyard.engine.cachemanifest import CacheConfig, ChainRecord, MountRecord, inline_records, is_cache_manifest
from dockyard.engine.cacheoptions import CacheImport
from dockyard.engine.mounts import cache_mount_dir
from dockyard.errors import DockyardError, UsageError
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.store.cache import LayerRecord
from dockyard.store.content import ContentStore
from dockyard.store.diskusage import mark_used
from dockyard.store.layout import OciLayout
from dockyard.store.owner import stamp


class BlobOrigin(Protocol):
    """Where an imported record's blobs can be fetched from."""

    def fetch(self, layer: LayerRecord, content: ContentStore) -> None: ...


@dataclass(frozen=True)
class RegistryOrigin:
    client: Client
    ref: Reference

    def fetch(self, layer: LayerRecord, content: ContentStore) -> None:
        self.client.fetch_blob(self.ref, Descriptor(layer.media_type, layer.digest, layer.size), content)


@dataclass(frozen=True)
class LayoutOrigin:
    layout: OciLayout

    def fetch(self, layer: LayerRecord, content: ContentStore) -> None:
        with self.layout.store.open(layer.digest) as blob:
            content.ingest(blob, expected=layer.digest, size=layer.size)


class ImportedCache:
    """The records of every ``--cache-from`` source; the first source naming a key wins."""

    def __init__(self) -> None:
        self._chains: dict[str, tuple[LayerRecord, ...]] = {}
        self._origins: dict[Digest, BlobOrigin] = {}
        self.mounts: list[tuple[MountRecord, BlobOrigin]] = []
        self._layers: dict[Digest, LayerRecord] = {}

    def add(self, records: Sequence[ChainRecord], mounts: Sequence[MountRecord], origin: BlobOrigin) -> None:
        for record in records:
            self._chains.setdefault(record.key, record.layers)
            for layer in record.layers:
                self._origins.setdefault(layer.digest, origin)
                self._layers.setdefault(layer.digest, layer)
        for mount in mounts:
            self.mounts.append((mount, origin))

    def __len__(self) -> int:
        return len(self._chains)

    def layer(self, digest: Digest) -> LayerRecord | None:
        """The imported layer blob ``digest`` (None when no record names it)."""
        return self._layers.get(digest)

    def digests(self) -> list[Digest]:
        return list(self._layers)

    def lookup(self, key: str) -> tuple[LayerRecord, ...] | None:
        """The chain recorded for ``key``, or None."""
        return self._chains.get(key)

    def fetch(self, layers: Sequence[LayerRecord], content: ContentStore) -> None:
        """Bring the blobs of ``layers`` that ``content`` lacks into it, a few at a time."""
        missing = [layer for layer in dict.fromkeys(layers) if not content.has(layer.digest)]
        if missing:
            with ThreadPoolExecutor(max_workers=min(4, len(missing))) as pool:
                for future in [pool.submit(self._origins[layer.digest].fetch, layer, content) for layer in missing]:
                    future.result()

    def source(self, content: ContentStore) -> LazySource:
        """A blob source over ``content`` that fetches imported blobs only when they are read."""
        return LazySource(self, content)


class LazySource:
    """Reads blobs from the content store, fetching an imported one on first read.

    An export of records carried over from ``--cache-from`` hands this to the registry push,
    which reads a blob only when the target lacks it and cannot mount it: re-exporting to the
    cache it came from downloads nothing.
    """

    def __init__(self, imported: ImportedCache, content: ContentStore) -> None:
        self._imported = imported
        self._content = content

    def open(self, digest: Digest) -> BinaryIO:
        layer = self._imported.layer(digest)
        if layer is not None and not self._content.has(digest):
            self._imported.fetch([layer], self._content)
        return self._content.open(digest)


def load(sources: Sequence[CacheImport], *, client: Client, content: ContentStore, root: Path,
         platforms: Sequence[str] = (), listener: progress.Listener | None = None) -> ImportedCache:
    """Read every source's records (warning about unusable ones) and restore its cache mounts
    (of a cache merged from several nodes, those exported for one of ``platforms``)."""
    emit = listener or (lambda _event: None)
    imported = ImportedCache()
    for source in sources:
        vertex = f"cache-import:{source.name}"
        emit(progress.Started(vertex, name=f"importing cache manifest from {source.name}"))
        try:
            if source.kind == "local":
                _load_layout(imported, source, content)
            else:
                assert source.ref is not None
                _load_registry(imported, source.ref, client=client, content=content)
        except DockyardError as exc:
            emit(progress.Log(vertex, line=f"WARNING: cache not imported: {exc.message}", stream="stderr"))
        emit(progress.Done(vertex))
    if imported.mounts:
        restore_mounts(imported, content=content, root=root, platforms=platforms,
                       log=lambda line: emit(progress.Log("cache-import", line=line)))
    return imported


def _load_registry(imported: ImportedCache, ref: Reference, *, client: Client, content: ContentStore) -> None:
    origin = RegistryOrigin(client, ref)
    before = set(imported.digests())
    top = client.fetch_manifest(ref)
    tops = [(top.descriptor, top.data)]
    if mediatypes.is_index(top.descriptor.media_type):
        tops = []
        for entry in Index.from_bytes(top.data, media_type=top.descriptor.media_type).manifests:
            if mediatypes.is_manifest(entry.media_type) and entry.platform is not None \
                    and entry.platform.os != "unknown":
                tops.append((entry, client.fetch_manifest(ref, str(entry.digest)).data))
    for desc, data in tops:
        manifest = Manifest.from_bytes(data, media_type=desc.media_type)
        client.fetch_blob(ref, manifest.config, content)
        _add_manifest(imported, manifest, content.read_bytes(manifest.config.digest), origin)
    client.remember(ref, [d for d in imported.digests() if d not in before])  # a push elsewhere mounts them


def _load_layout(imported: ImportedCache, source: CacheImport, content: ContentStore) -> None:
    assert source.src is not None
    layout = OciLayout.open(source.src)
    entries = list(layout.index().manifests)
    chosen = [e for e in entries if e.ref_name == source.tag] or (entries if len(entries) == 1 else [])
    if not chosen:
        raise UsageError(f"{source.src}: no cache tagged {source.tag!r}", hint="name it with tag=...")
    desc = chosen[-1]
    manifest = Manifest.from_bytes(layout.store.read_bytes(desc.digest), media_type=desc.media_type)
    _add_manifest(imported, manifest, layout.store.read_bytes(manifest.config.digest), LayoutOrigin(layout))


def _add_manifest(imported: ImportedCache, manifest: Manifest, config: bytes, origin: BlobOrigin) -> None:
    if is_cache_manifest(manifest):
        parsed = CacheConfig.from_bytes(config)
        imported.add(parsed.records, parsed.mounts, origin)
        return
    image = ImageConfig.from_bytes(config)
    records = inline_records(json.loads(config), manifest.layers, image.diff_ids)
    if not records:
        raise UsageError("it is an image without inline cache",
                         hint="build it with --cache-to type=inline, or export a cache with type=registry")
    imported.add(records, (), origin)


def restore_mounts(imported: ImportedCache, *, content: ContentStore, root: Path, platforms: Sequence[str] = (),
                   log: Callable[[str], None]) -> None:
    """Unpack each imported cache mount whose local directory is missing or empty (first source wins);
    a mount exported for another platform (a cache merged from several nodes) is not this build's."""
    done: set[str] = set()
    for mount, origin in imported.mounts:
        target = cache_mount_dir(mount.id, root)
        if mount.platform and mount.platform not in platforms:
            continue
        if mount.id in done or (target.is_dir() and any(target.iterdir())):
            continue
        done.add(mount.id)
        origin.fetch(mount.layer, content)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=stamp(".restore-"), dir=target.parent))
        try:
            apply_layer(content.path(mount.layer.digest), staging, whiteouts=Whiteouts.APPLY)
            os.chmod(staging, mount.mode)
            os.chown(staging, mount.uid, mount.gid)
            if target.is_dir():
                target.rmdir()
            os.replace(staging, target)
            mark_used(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log(f"restored cache mount {mount.id!r} ({mount.layer.size} bytes)")


__all__ = ["ImportedCache", "load", "restore_mounts"]

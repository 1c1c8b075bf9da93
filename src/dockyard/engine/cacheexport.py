"""``--cache-to``: choosing the records of a finished build and writing them out.

Every vertex of the build graph that has a result (it ran, or came from the cache) gives a
record: its key and the layer blobs of its whole chain. Vertices the solver never visited
(inputs of a cache hit) are taken from the local cache database when it still holds their
blobs, so a warm rebuild exports as much as the cold build did.

``mode=max`` keeps every record; ``mode=min`` only those whose chain is a prefix of a final
image's layers (what the exported images contain), BuildKit's distinction. With
``cache-mounts=true`` each RUN ``--mount=type=cache`` directory the build uses is archived
as one more blob, keyed by its mount id (buildkit#1474). Secret and ssh mounts live outside
the store in private tmpfs directories and are never archived; only ``type=cache`` mount
directories are read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import progress
from dockyard.engine.cachemanifest import CacheConfig, ChainRecord, MountRecord, merge
from dockyard.engine.cacheoptions import CacheExport
from dockyard.engine.mounts import cache_mount_dir, cache_mount_id
from dockyard.engine.results import FsResult, Result
from dockyard.engine.worker import Node
from dockyard.errors import DockyardError, StoreError
from dockyard.graph import ops
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.layer import LayerOptions, make_layer
from dockyard.oci.source import ContentSource
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.store.cache import CacheDB, LayerRecord
from dockyard.store.content import ContentStore
from dockyard.store.layout import OciLayout

if TYPE_CHECKING:  # --cache-from's importer loads only when a build names one
    from dockyard.engine.cacheimport import ImportedCache


def collect(nodes: Iterable[Node], results: Mapping[str, Result], *, cache: CacheDB, content: ContentStore,
            imported: ImportedCache | None = None) -> tuple[ChainRecord, ...]:
    """A record per vertex whose result (this build's, the store's, or an imported cache's) has
    every blob at hand or fetchable: a cache exported after ``--cache-from`` keeps the imported
    records the build did not need, so CI's ``--cache-from X --cache-to X`` never shrinks X."""
    out: dict[str, ChainRecord] = {}
    for node in nodes:
        if node.key in out or isinstance(node.op, ops.ContextSource):
            continue
        result = results.get(node.key)
        layers: tuple[LayerRecord, ...] | None = None
        if isinstance(result, FsResult):
            layers = result.layers
        elif result is None:
            record = cache.get(node.key, touch=False)
            layers = record.layers if record is not None else None
        if layers is not None and all(content.has(layer.digest) for layer in layers):
            out[node.key] = ChainRecord(key=node.key, layers=layers)
        elif result is None and imported is not None and (chain := imported.lookup(node.key)) is not None:
            out[node.key] = ChainRecord(key=node.key, layers=chain)
    return tuple(out.values())


def select(records: Sequence[ChainRecord], finals: Sequence[Sequence[LayerRecord]],
           mode: str) -> tuple[ChainRecord, ...]:
    """``max``: every record; ``min``: the records whose chain some final image starts with."""
    if mode == "max":
        return tuple(records)
    images = [tuple(layer.digest for layer in final) for final in finals]
    return tuple(r for r in records
                 if any(image[:len(r.layers)] == tuple(layer.digest for layer in r.layers) for image in images))


def mount_records(nodes: Iterable[Node], *, root: Path, content: ContentStore) -> tuple[MountRecord, ...]:
    """Each cache mount directory the build's RUN steps use, archived into the content store."""
    ids: dict[str, None] = {}
    for node in nodes:
        if isinstance(node.op, ops.Exec):
            for mount in node.op.mounts:
                if mount.type == "cache":
                    ids.setdefault(cache_mount_id(mount))
    out = []
    ingest = content.root / "ingest"
    ingest.mkdir(parents=True, exist_ok=True)
    for ident in ids:
        directory = cache_mount_dir(ident, root)
        if not directory.is_dir():
            continue
        blob = make_layer(directory, ingest, options=LayerOptions())
        final = content.path(blob.digest)
        if final.exists():
            blob.path.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(blob.path, final)
        info = directory.stat()
        layer = LayerRecord(digest=blob.digest, diff_id=blob.diff_id, size=blob.size, media_type=blob.media_type)
        out.append(MountRecord(id=ident, layer=layer, mode=info.st_mode & 0o7777, uid=info.st_uid, gid=info.st_gid))
    return tuple(out)


def write_manifest(config: CacheConfig, content: ContentStore, *, oci_mediatypes: bool = True) -> Descriptor:
    """Store the cache config and manifest; the layers must be in ``content`` already."""
    manifest, data = config.manifest(oci_mediatypes=oci_mediatypes)
    content.ingest_bytes(data)
    content.ingest_bytes(manifest.to_bytes())
    return replace(manifest.descriptor(), artifact_type=manifest.artifact_type)


def export(targets: Sequence[CacheExport], *, records: Sequence[ChainRecord], finals: Sequence[Sequence[LayerRecord]],
           nodes: Sequence[Node], root: Path, content: ContentStore, client: Client,
           imported: ImportedCache | None = None,
           listener: progress.Listener | None = None) -> dict[CacheExport, Descriptor]:
    """Write each registry or local target; returns the cache manifest written per target."""
    source: ContentSource = imported.source(content) if imported is not None else content
    mounts: tuple[MountRecord, ...] | None = None

    def config_for(target: CacheExport) -> CacheConfig:
        nonlocal mounts
        if target.cache_mounts and mounts is None:
            mounts = mount_records(nodes, root=root, content=content)
        return CacheConfig(records=select(records, finals, target.mode),
                           mounts=mounts if target.cache_mounts and mounts else ())

    return _deliver(targets, config_for, content=content, source=source, client=client, listener=listener)


def export_merged(targets: Sequence[CacheExport], parts: Mapping[CacheExport, Sequence[tuple[str, CacheConfig]]], *,
                  content: ContentStore, source: ContentSource, client: Client,
                  listener: progress.Listener | None = None) -> dict[CacheExport, Descriptor]:
    """Write each target as one manifest over the parts every node exported (``merge``): the nodes
    pushed their blobs already (registry), or ``source`` holds them (local)."""
    return _deliver(targets, lambda target: merge(parts.get(target, ())), content=content, source=source,
                    client=client, listener=listener)


def _deliver(targets: Sequence[CacheExport], config_for: Callable[[CacheExport], CacheConfig], *,
             content: ContentStore, source: ContentSource, client: Client,
             listener: progress.Listener | None) -> dict[CacheExport, Descriptor]:
    """Store each target's config and manifest, then push it (a part: by digest, no tag) or write
    the layout (a part: nothing, the client merges it); progress per target, ``ignore-error`` honoured."""
    emit = listener or (lambda _event: None)
    written: dict[CacheExport, Descriptor] = {}
    for target in targets:
        if target.kind == "inline":
            continue
        where = str(target.ref) if target.ref is not None else f"local:{target.dest}"
        vertex = f"cache-export:{where}"
        emit(progress.Started(vertex, name=f"exporting cache {'records ' if target.part else ''}to {where}"))
        try:
            config = config_for(target)
            desc = write_manifest(config, content, oci_mediatypes=target.oci_mediatypes)
            if target.ref is not None:
                client.push(Reference.parse(target.ref.name, default_tag=None) if target.part else target.ref,
                            desc, source)
            elif not target.part:
                assert target.dest is not None
                try:
                    _write_layout(target.dest, desc, config, source, tag=target.tag)
                except OSError as exc:
                    raise StoreError(f"cannot write the cache to {target.dest}: {exc.strerror or exc}",
                                     hint="type=local,dest= names a directory (created when missing)") from exc
            emit(progress.Log(vertex, line=f"{len(config.records)} records, {len(config.layers())} blobs, "
                                           f"manifest {desc.digest}"))
            written[target] = desc
        except DockyardError as exc:
            if not target.ignore_error:
                emit(progress.Failed(vertex, message=exc.message))
                raise
            emit(progress.Log(vertex, line=f"WARNING: cache not exported: {exc.message}", stream="stderr"))
        emit(progress.Done(vertex))
    return written


def _write_layout(dest: Path, desc: Descriptor, config: CacheConfig, content: ContentSource, *, tag: str) -> None:
    layout = OciLayout.create(dest)
    manifest, _data = config.manifest()
    for digest, size in [(desc.digest, desc.size), (manifest.config.digest, manifest.config.size),
                         *((layer.digest, layer.size) for layer in config.layers())]:
        if not layout.store.has(digest):
            with content.open(digest) as blob:
                layout.store.ingest(blob, expected=digest, size=size)
    layout.add(desc, tag=tag)


__all__ = ["collect", "export", "export_merged", "mount_records", "select", "write_manifest"]

"""The exported build cache as documents: a cache config, the manifest over it, the inline field.

An exported cache is one OCI image manifest (``artifactType`` :data:`ARTIFACT_TYPE`) so that
any registry that stores images stores it, and ``skopeo``/``crane`` can copy it. Its config
blob (:data:`CONFIG_MEDIA_TYPE`) holds the records; its layers are every blob the records
name, each once. A record maps a vertex cache key to the ordered layer blobs (with
diff_ids) of the whole filesystem chain the vertex produced, so one record is enough to
rebuild its result on an empty store: no parent record has to be found first. Cache mount
contents travel as extra layers, named by their mount id. See docs/cache.md.

The inline form (``--cache-to type=inline``) lives in the image config under
:data:`INLINE_FIELD` and refers to the image's own layers by count: a record ``{key, layers: n}``
means "the first n layers of this image".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import UsageError
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.store.cache import LayerRecord

ARTIFACT_TYPE = "application/vnd.dockyard.cache.v1"
CONFIG_MEDIA_TYPE = "application/vnd.dockyard.cache.config.v1+json"
INLINE_FIELD = "dev.dockyard.cache.v1"
MOUNT_ANNOTATION = "dev.dockyard.cache.mount.id"
MOUNT_PLATFORM_ANNOTATION = "dev.dockyard.cache.mount.platform"
VERSION = 1
_TO_DOCKER = {mediatypes.OCI_LAYER_GZIP: mediatypes.DOCKER_LAYER_GZIP}
_FROM_DOCKER = {mediatypes.DOCKER_LAYER_GZIP: mediatypes.OCI_LAYER_GZIP}
_WHAT = "dockyard cache config"


@dataclass(frozen=True, kw_only=True)
class ChainRecord:
    """A vertex key and the layer blobs of its whole chain, bottom first."""

    key: str
    layers: tuple[LayerRecord, ...]


@dataclass(frozen=True, kw_only=True)
class MountRecord:
    """The contents of one RUN cache mount (by its id) as a tar blob.

    ``platform`` is set when the cache was merged from nodes that each built one platform: each
    node kept its own directory for the id, so each platform's contents are kept (and restored)
    separately. Empty: the directory of a build that ran every platform in one store.
    """

    id: str
    layer: LayerRecord
    mode: int = 0o755  # of the mount directory itself (the tar holds what is inside)
    uid: int = 0
    gid: int = 0
    platform: str = ""


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    """The config blob of a cache manifest."""

    records: tuple[ChainRecord, ...] = ()
    mounts: tuple[MountRecord, ...] = ()

    def layers(self) -> list[LayerRecord]:
        """Every blob named, each once, in first-use order (records first, then mounts)."""
        seen: dict[Digest, LayerRecord] = {}
        for record in self.records:
            for layer in record.layers:
                seen.setdefault(layer.digest, layer)
        for mount in self.mounts:
            seen.setdefault(mount.layer.digest, mount.layer)
        return list(seen.values())

    def to_bytes(self) -> bytes:
        return canonical.encode({
            "version": VERSION,
            "layers": [_layer_json(layer) for layer in self.layers()],
            "records": [{"key": r.key, "chain": [str(layer.digest) for layer in r.layers]} for r in self.records],
            "mounts": [{"id": m.id, "digest": str(m.layer.digest), "mode": m.mode, "uid": m.uid, "gid": m.gid,
                        **({"platform": m.platform} if m.platform else {})} for m in self.mounts],
        })

    @classmethod
    def from_bytes(cls, data: bytes) -> CacheConfig:
        doc = canonical.decode_object(data, what=_WHAT)
        if doc.get("version") != VERSION:
            raise canonical.InvalidDocumentError(f"{_WHAT}: unsupported version {doc.get('version')!r}")
        try:
            table = {layer.digest: layer for layer in (_layer_from(item) for item in doc.get("layers", []))}
            records = tuple(ChainRecord(key=str(r["key"]), layers=tuple(table[Digest.parse(d)] for d in r["chain"]))
                            for r in doc.get("records", []))
            mounts = tuple(MountRecord(id=str(m["id"]), layer=table[Digest.parse(m["digest"])],
                                       mode=int(m.get("mode", 0o755)) & 0o7777, uid=int(m.get("uid", 0)),
                                       gid=int(m.get("gid", 0)), platform=str(m.get("platform", "")))
                           for m in doc.get("mounts", []))
        except (KeyError, TypeError, ValueError, UsageError) as exc:
            raise canonical.InvalidDocumentError(f"{_WHAT}: malformed ({type(exc).__name__}: {exc})") from None
        return cls(records=records, mounts=mounts)

    def manifest(self, *, oci_mediatypes: bool = True) -> tuple[Manifest, bytes]:
        """The cache manifest and this config's bytes (store both, config first)."""
        data = self.to_bytes()
        mounts = {m.layer.digest: m for m in self.mounts}
        layers = []
        for layer in self.layers():
            media_type = layer.media_type if oci_mediatypes else _TO_DOCKER.get(layer.media_type, layer.media_type)
            mount = mounts.get(layer.digest)
            notes = {} if mount is None else {MOUNT_ANNOTATION: mount.id} | (
                {MOUNT_PLATFORM_ANNOTATION: mount.platform} if mount.platform else {})
            layers.append(Descriptor(media_type, layer.digest, layer.size, annotations=notes))
        manifest = Manifest(config=Descriptor.of_bytes(CONFIG_MEDIA_TYPE, data), layers=tuple(layers),
                            artifact_type=ARTIFACT_TYPE)
        return manifest, data


def merge(parts: Sequence[tuple[str, CacheConfig]]) -> CacheConfig:
    """One cache config over the parts each node exported for its platform (``platform``, ``config``).

    BuildKit's exporter (cache/remotecache/export.go, ``contentCacheExporter.Finalize``) writes
    the records of one solve and tags them; when several nodes each export to the same ref, the
    last tag wins and the other platforms' records are gone (buildkit#2822). Here every part is
    kept: records are joined by key (a key names the same result wherever it was built, so the
    first part's chain is kept), and each part's cache mounts are marked with its platform (every
    node filled its own directory for an id).
    """
    records: dict[str, ChainRecord] = {}
    mounts: list[MountRecord] = []
    for platform, config in parts:
        for record in config.records:
            records.setdefault(record.key, record)
        mounts.extend(m if m.platform or not platform else replace(m, platform=platform) for m in config.mounts)
    return CacheConfig(records=tuple(records.values()), mounts=tuple(mounts))


def is_cache_manifest(manifest: Manifest) -> bool:
    return manifest.artifact_type == ARTIFACT_TYPE or manifest.config.media_type == CONFIG_MEDIA_TYPE


def _layer_json(layer: LayerRecord) -> dict[str, Any]:
    return {"mediaType": layer.media_type, "digest": str(layer.digest), "size": layer.size,
            "diffID": str(layer.diff_id)}


def _layer_from(item: Mapping[str, Any]) -> LayerRecord:
    return LayerRecord(digest=Digest.parse(str(item["digest"])), diff_id=Digest.parse(str(item["diffID"])),
                       size=int(item["size"]), media_type=str(item["mediaType"]))


def inline_field(records: Iterable[ChainRecord], image_layers: Sequence[LayerRecord]) -> dict[str, Any]:
    """The image config field for ``--cache-to type=inline``: records that are prefixes of the image."""
    out = []
    image = tuple(layer.digest for layer in image_layers)
    for record in records:
        chain = tuple(layer.digest for layer in record.layers)
        if image[:len(chain)] == chain:
            out.append({"key": record.key, "layers": len(chain)})
    return {"version": VERSION, "records": out}


def inline_records(config: Mapping[str, Any], layers: Sequence[Descriptor],
                   diff_ids: Sequence[Digest]) -> tuple[ChainRecord, ...]:
    """The records an image config carries inline, resolved against the image's layers."""
    field = config.get(INLINE_FIELD)
    if not isinstance(field, dict) or field.get("version") != VERSION:
        return ()
    full = tuple(LayerRecord(digest=d.digest, diff_id=diff_id, size=d.size,
                             media_type=_FROM_DOCKER.get(d.media_type, d.media_type))
                 for d, diff_id in zip(layers, diff_ids, strict=False))
    out = []
    for item in field.get("records", []):
        if isinstance(item, dict) and isinstance(item.get("layers"), int) and 0 <= item["layers"] <= len(full):
            out.append(ChainRecord(key=str(item.get("key")), layers=full[:item["layers"]]))
    return tuple(out)


__all__ = ["ARTIFACT_TYPE", "CONFIG_MEDIA_TYPE", "INLINE_FIELD", "MOUNT_ANNOTATION", "MOUNT_PLATFORM_ANNOTATION",
           "CacheConfig", "ChainRecord", "MountRecord", "inline_field", "inline_records", "is_cache_manifest", "merge"]

"""The cache config and manifest documents, the inline field, and min/max record selection."""

from __future__ import annotations

import pytest

from dockyard.digest import Digest
from dockyard.engine.cacheexport import select
from dockyard.engine.cachemanifest import (
    ARTIFACT_TYPE,
    CONFIG_MEDIA_TYPE,
    MOUNT_ANNOTATION,
    MOUNT_PLATFORM_ANNOTATION,
    CacheConfig,
    ChainRecord,
    MountRecord,
    inline_field,
    inline_records,
    merge,
)
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.store.cache import LayerRecord


def _layer(name: str) -> LayerRecord:
    return LayerRecord(digest=Digest.of_bytes(name.encode()), diff_id=Digest.of_bytes(name.encode() + b"-tar"),
                       size=len(name), media_type=mediatypes.OCI_LAYER_GZIP)


BASE, RUN1, RUN2, OTHER, MOUNT = (_layer(n) for n in ("base", "run1", "run2", "other-stage", "mount"))
RECORDS = (ChainRecord(key="k-base", layers=(BASE,)), ChainRecord(key="k-run1", layers=(BASE, RUN1)),
           ChainRecord(key="k-other", layers=(BASE, OTHER)), ChainRecord(key="k-run2", layers=(BASE, RUN1, RUN2)))


def test_config_round_trips_and_lists_each_blob_once() -> None:
    config = CacheConfig(records=RECORDS, mounts=(MountRecord(id="/root/.cache", layer=MOUNT, mode=0o700, uid=1),))
    assert [layer.digest for layer in config.layers()] == [x.digest for x in (BASE, RUN1, OTHER, RUN2, MOUNT)]
    assert CacheConfig.from_bytes(config.to_bytes()) == config
    manifest, data = config.manifest()
    assert manifest.artifact_type == ARTIFACT_TYPE
    assert manifest.config == Descriptor.of_bytes(CONFIG_MEDIA_TYPE, data)
    assert [d.annotations.get(MOUNT_ANNOTATION) for d in manifest.layers] == [None, None, None, None, "/root/.cache"]
    docker, _ = config.manifest(oci_mediatypes=False)
    assert {d.media_type for d in docker.layers} == {mediatypes.DOCKER_LAYER_GZIP}


def test_a_record_naming_an_unlisted_blob_is_rejected() -> None:
    doc = canonical.decode_object(CacheConfig(records=RECORDS).to_bytes(), what="t")
    doc["records"][0]["chain"] = [str(MOUNT.digest)]
    with pytest.raises(canonical.InvalidDocumentError, match="malformed"):
        CacheConfig.from_bytes(canonical.encode(doc))


def test_min_keeps_the_prefixes_of_the_final_image_and_max_keeps_all() -> None:
    assert [r.key for r in select(RECORDS, [(BASE, RUN1, RUN2)], "min")] == ["k-base", "k-run1", "k-run2"]
    assert select(RECORDS, [(BASE, RUN1, RUN2)], "max") == RECORDS
    both = select(RECORDS, [(BASE, RUN1, RUN2), (BASE, OTHER)], "min")
    assert [r.key for r in both] == ["k-base", "k-run1", "k-other", "k-run2"]


def test_inline_field_counts_layers_and_resolves_against_the_image() -> None:
    field = inline_field(RECORDS, (BASE, RUN1, RUN2))
    assert field["records"] == [{"key": "k-base", "layers": 1}, {"key": "k-run1", "layers": 2},
                                {"key": "k-run2", "layers": 3}]
    layers = [Descriptor(mediatypes.DOCKER_LAYER_GZIP, x.digest, x.size) for x in (BASE, RUN1, RUN2)]
    back = inline_records({"dev.dockyard.cache.v1": field}, layers, [x.diff_id for x in (BASE, RUN1, RUN2)])
    assert back == tuple(r for r in RECORDS if r.key != "k-other")
    assert inline_records({}, layers, []) == ()


def test_merging_two_nodes_parts_keeps_every_platforms_records_and_mounts() -> None:
    """buildkit#2822 (cache/remotecache/export.go ``contentCacheExporter.Finalize`` tags one solve's
    records; a second node exporting to the same ref replaces the first's): merged, neither is lost."""
    amd = CacheConfig(records=RECORDS[:2], mounts=(MountRecord(id="shared", layer=MOUNT),))
    arm_mount = _layer("arm-mount")
    arm = CacheConfig(records=(RECORDS[1], RECORDS[3]), mounts=(MountRecord(id="shared", layer=arm_mount),))
    merged = merge([("linux/amd64", amd), ("linux/arm64", arm)])
    assert [r.key for r in merged.records] == ["k-base", "k-run1", "k-run2"]
    assert [(m.id, m.platform, m.layer) for m in merged.mounts] == [
        ("shared", "linux/amd64", MOUNT), ("shared", "linux/arm64", arm_mount)]
    assert CacheConfig.from_bytes(merged.to_bytes()) == merged
    manifest, _data = merged.manifest()
    assert [(d.annotations.get(MOUNT_ANNOTATION), d.annotations.get(MOUNT_PLATFORM_ANNOTATION))
            for d in manifest.layers[-2:]] == [("shared", "linux/amd64"), ("shared", "linux/arm64")]
    # a cache from one store (no platform on its mounts) keeps its bytes: no platform key is written
    assert b"platform" not in amd.to_bytes()

"""A multi-platform base image from root filesystem tarballs (``dockyard imagetools import``).

Each tarball becomes one gzip layer (isal, level 1 by default) of one platform's image; the
images go into an index. With SOURCE_DATE_EPOCH set (and the same tarballs) the digests are
the same on every run and machine: gzip headers carry no time or name, the config's
``created`` comes from the epoch, and history names only the tarball's base name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from isal import igzip

from dockyard.digest import CHUNK, Digest
from dockyard.errors import UsageError
from dockyard.oci import mediatypes
from dockyard.oci.config import ContainerConfig, History, ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.content import ContentStore

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    """What the images run and declare; ``created`` None means SOURCE_DATE_EPOCH, else now."""

    cmd: tuple[str, ...] | None = ("sh",)
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = (DEFAULT_PATH,)
    working_dir: str | None = None
    labels: Mapping[str, str] | None = None
    created: str | None = None
    compression_level: int = 1


def created_timestamp() -> str:
    """RFC 3339 UTC time from SOURCE_DATE_EPOCH (reproducible builds), else the current time."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        if not epoch.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
        when = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    else:
        when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def gzip_layer(tarball: Path, store: ContentStore, *, level: int = 1) -> tuple[Descriptor, Digest]:
    """Compress ``tarball`` into the store in one pass; returns (layer descriptor, diff ID)."""
    diff = hashlib.sha256()
    try:
        src = open(tarball, "rb")  # noqa: SIM115 - closed below, with the store writer
    except OSError as exc:
        raise UsageError(f"cannot read rootfs tarball {tarball}: {exc.strerror}") from None
    with src, store.writer() as writer:
        with igzip.IGzipFile(fileobj=writer, mode="wb", compresslevel=level, mtime=0) as gz:  # type: ignore[no-untyped-call]
            while chunk := src.read(CHUNK):
                diff.update(chunk)
                gz.write(chunk)  # type: ignore[no-untyped-call]
        blob = writer.commit()
    return Descriptor(mediatypes.OCI_LAYER_GZIP, blob.digest, blob.size), Digest("sha256", diff.hexdigest())


def import_image(platform: Platform, tarball: Path, store: ContentStore, *, options: ImportOptions) -> Descriptor:
    """One platform's image (layer, config, manifest) into ``store``; returns the index entry."""
    layer, diff_id = gzip_layer(tarball, store, level=options.compression_level)
    created = options.created or created_timestamp()
    config = ImageConfig.for_platform(
        platform,
        created=created,
        config=ContainerConfig(env=options.env, cmd=options.cmd, entrypoint=options.entrypoint,
                               working_dir=options.working_dir, labels=dict(options.labels or {})),
        diff_ids=(diff_id,),
        history=(History(created=created, created_by=f"dockyard imagetools import {tarball.name}"),),
    )
    config_bytes = config.to_bytes()
    store.ingest_bytes(config_bytes)
    manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config_bytes), layers=(layer,))
    data = manifest.to_bytes()
    store.ingest_bytes(data)
    return Descriptor.of_bytes(mediatypes.OCI_MANIFEST, data, platform=platform)


def import_index(rootfs: Sequence[tuple[Platform, Path]], store: ContentStore, *,
                 options: ImportOptions = ImportOptions()) -> Descriptor:
    """An index of one image per (platform, tarball), all in ``store``; returns its descriptor."""
    if not rootfs:
        raise UsageError("no --platform PLATFORM=ROOTFS.tar given", hint="e.g. --platform linux/amd64=rootfs.tar")
    seen = [p for p, _ in rootfs]
    if len(set(seen)) != len(seen):
        raise UsageError("a platform is given twice", hint="give each platform one tarball")
    if options.created is None:  # one timestamp for every platform
        options = replace(options, created=created_timestamp())
    entries = tuple(import_image(p, tar, store, options=options) for p, tar in rootfs)
    data = Index(manifests=entries).to_bytes()
    store.ingest_bytes(data)
    return Descriptor.of_bytes(mediatypes.OCI_INDEX, data)

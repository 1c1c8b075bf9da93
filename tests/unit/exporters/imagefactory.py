"""Small images made by hand in a content store, for exporter tests.

Each layer is a directory tree turned into a blob by the engine's own ``make_layer``;
whiteouts are written as files named ``.wh.NAME`` / ``.wh..wh..opq`` (what a layer tar
holds), so no root privilege is needed to make them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.layer import Compression, LayerOptions, make_layer
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.content import ContentStore


def tree(root: Path, files: dict[str, str | None]) -> Path:
    """Write ``files`` (path -> text; None makes a directory) under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        if text is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def image(store: ContentStore, layers: Sequence[Path], *, platform: str = "linux/amd64",
          compression: Compression = Compression.GZIP) -> Descriptor:
    """A single-platform image of ``layers`` (bottom first) in ``store``; returns its manifest."""
    plat = Platform.parse(platform)
    store.root.mkdir(parents=True, exist_ok=True)
    config = ImageConfig.for_platform(plat, created="2024-01-01T00:00:00Z")
    descs = []
    for layer_dir in layers:
        blob = make_layer(layer_dir, store.root, options=LayerOptions(compression=compression,
                                                                     source_date_epoch=1704067200))
        with open(blob.path, "rb") as f:
            store.ingest(f, expected=blob.digest)
        os.unlink(blob.path)
        descs.append(Descriptor(blob.media_type, blob.digest, blob.size))
        config = replace(config, diff_ids=(*config.diff_ids, blob.diff_id))
    config_bytes = config.to_bytes()
    store.ingest_bytes(config_bytes)
    manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config_bytes), layers=tuple(descs))
    store.ingest_bytes(manifest.to_bytes())
    return manifest.descriptor(platform=plat)


def index(store: ContentStore, entries: Sequence[Descriptor]) -> Descriptor:
    data = Index(manifests=tuple(entries)).to_bytes()
    store.ingest_bytes(data)
    return Descriptor.of_bytes(mediatypes.OCI_INDEX, data)

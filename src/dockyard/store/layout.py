"""OCI image layout directories: ``oci-layout``, ``index.json`` and ``blobs/sha256/``.

A layout is the hand-over format between the build engine, exporters and the registry
client (skopeo and umoci read and write it too). Its blob directory has the content store's
shape, so :attr:`OciLayout.store` is a :class:`~dockyard.store.content.ContentStore` and
everything that pushes from a store pushes from a layout. Tags are ``index.json`` entries
annotated with ``org.opencontainers.image.ref.name``.

It lives in ``store/`` and not in ``oci/`` because it holds a content store: the image model
(``oci/``) describes documents and never depends on where they are kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from dockyard.errors import UsageError
from dockyard.oci import canonical
from dockyard.oci.descriptor import REF_NAME, Descriptor
from dockyard.oci.index import Index
from dockyard.store.content import ContentStore

LAYOUT_VERSION = "1.0.0"


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class OciLayout:
    """An OCI layout directory; ``OciLayout.create(path)`` makes an empty one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = ContentStore(root)

    @classmethod
    def create(cls, root: Path) -> OciLayout:
        """Make ``root`` a layout (keeping what an existing layout there holds)."""
        root.mkdir(parents=True, exist_ok=True)
        (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        if not (root / "oci-layout").exists():
            _atomic_write(root / "oci-layout", canonical.encode({"imageLayoutVersion": LAYOUT_VERSION}))
        if not (root / "index.json").exists():
            _atomic_write(root / "index.json", Index().to_bytes())
        return cls(root)

    @classmethod
    def open(cls, root: Path) -> OciLayout:
        """An existing layout; a UsageError when ``root`` is not one."""
        marker = root / "oci-layout"
        try:
            version = json.loads(marker.read_text()).get("imageLayoutVersion")
        except (OSError, ValueError, AttributeError):
            raise UsageError(f"{root} is not an OCI image layout (no valid oci-layout file)",
                             hint="point at a directory written by an OCI exporter, skopeo or umoci") from None
        if version != LAYOUT_VERSION:
            raise UsageError(f"{root}: unsupported OCI layout version {version!r}")
        return cls(root)

    def index(self) -> Index:
        return Index.from_bytes((self.root / "index.json").read_bytes())

    def add(self, desc: Descriptor, *, tag: str | None = None) -> None:
        """List ``desc`` in index.json; with ``tag``, it replaces any entry holding that tag."""
        entries = list(self.index().manifests)
        if tag is not None:
            entries = [e for e in entries if e.ref_name != tag]
            desc = replace(desc, annotations={**desc.annotations, REF_NAME: tag})
        elif desc in entries:
            return
        entries.append(desc)
        _atomic_write(self.root / "index.json", Index(manifests=tuple(entries)).to_bytes())

    def resolve(self, tag: str | None = None) -> Descriptor:
        """The entry tagged ``tag``; without a tag, the only entry (an error when there are several)."""
        entries = list(self.index().manifests)
        only = entries if len(entries) == 1 else []
        found = [e for e in entries if e.ref_name == tag] if tag is not None else only
        if not found:
            tags = ", ".join(e.ref_name or str(e.digest) for e in entries) or "nothing"
            raise UsageError(f"{self.root}: no image {'tagged ' + repr(tag) if tag else 'chosen'} (it holds {tags})",
                             hint="name one of the listed tags")
        return found[-1]

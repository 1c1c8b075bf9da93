"""The ``oci`` exporter: the result as an OCI image layout, a directory or a tar archive.

Every blob the result uses (index, manifests, configs, layers) is copied from the content
store as is, so digests are kept and ``skopeo copy oci-archive:FILE docker://...`` pushes the
very image the build made. Names become index.json entries annotated the way BuildKit does:
``org.opencontainers.image.ref.name`` holds the tag (what ``skopeo inspect oci:DIR:TAG``
looks up) and ``io.containerd.image.name`` the full name; without names there is one entry
with no annotations.

A directory that is already a layout keeps its other images; an entry with the same tag and
full name moves to the new image (BuildKit's rule, so ``reg1/app:1`` and ``reg2/app:1`` can
share a layout). The tar is streamed straight from the store
(never through a temporary layout), sorted, with fixed owners and times, so one image always
gives one archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dockyard.digest import Digest
from dockyard.exporters.archive import TarWriter
from dockyard.exporters.destination import open_destination, write_atomic
from dockyard.oci import canonical
from dockyard.oci.descriptor import REF_NAME, Descriptor
from dockyard.oci.index import Index
from dockyard.oci.source import walk
from dockyard.reference import Reference
from dockyard.store.content import ContentStore
from dockyard.store.layout import LAYOUT_VERSION, OciLayout

IMAGE_NAME = "io.containerd.image.name"


def blobs_of(store: ContentStore, desc: Descriptor) -> dict[Digest, int]:
    """Every blob ``desc`` reaches, with its size, in a stable order (top document first)."""
    _data, children, parts = walk(store, desc)
    out = {desc.digest: desc.size}
    for child, _bytes in children:
        out.setdefault(child.digest, child.size)
    for part in parts.values():
        out.setdefault(part.digest, part.size)
    return out


def index_entries(desc: Descriptor, names: Sequence[str]) -> list[Descriptor]:
    """The index.json entries naming ``desc``: one per name (tag and full name), or one bare entry."""
    if not names:
        return [desc]
    entries: dict[tuple[str, str], Descriptor] = {}
    for name in names:
        ref = Reference.parse(name)
        tag = ref.tag or (str(ref.digest) if ref.digest else "latest")
        entries.setdefault((tag, str(ref)),
                           desc.with_annotations({**desc.annotations, IMAGE_NAME: str(ref), REF_NAME: tag}))
    return list(entries.values())


def _key(entry: Descriptor) -> tuple[str | None, str | None]:
    return entry.ref_name, entry.annotations.get(IMAGE_NAME)


def write_layout_dir(store: ContentStore, desc: Descriptor, dest: Path, *, names: Sequence[str] = ()) -> OciLayout:
    """Copy the result into the layout at ``dest`` (created when missing); returns the layout."""
    layout = OciLayout.create(dest)
    for digest, size in blobs_of(store, desc).items():
        if not layout.store.has(digest):
            with store.open(digest) as src:
                layout.store.ingest(src, expected=digest, size=size)
    new = index_entries(desc, names)
    replaced = {_key(e) for e in new}
    kept = [e for e in layout.index().manifests if _key(e) not in replaced and e != desc]
    write_atomic(dest / "index.json", Index(manifests=(*kept, *new)).to_bytes())
    return layout


def write_layout_tar(store: ContentStore, desc: Descriptor, dest: Path | None, *, names: Sequence[str] = ()) -> None:
    """The layout as a tar archive at ``dest`` (None: stdout), streamed from the store."""
    files: dict[str, tuple[Digest, int] | bytes] = {
        "oci-layout": canonical.encode({"imageLayoutVersion": LAYOUT_VERSION}),
        "index.json": Index(manifests=tuple(index_entries(desc, names))).to_bytes(),
    }
    for digest, size in blobs_of(store, desc).items():
        files[f"blobs/{digest.algorithm}/{digest.hex}"] = (digest, size)
    dirs = sorted({"blobs"} | {name.rsplit("/", 1)[0] for name in files if name.startswith("blobs/")})
    with open_destination(dest, what="OCI archive") as sink:
        tar = TarWriter(sink)
        for name in sorted([*dirs, *files]):
            item = files.get(name)
            if item is None:
                tar.add_dir(name)
            elif isinstance(item, bytes):
                tar.add_bytes(name, item)
            else:
                with store.open(item[0]) as blob:
                    tar.add_stream(name, item[1], blob)
        tar.close()

"""An image's root filesystem on disk: layers applied in order, then moved where it is wanted.

Each platform's layers are applied (whiteouts honoured, owners and modes kept, nothing
written outside the target; :func:`dockyard.oci.unpack.apply_layer`) into a fresh directory,
and only the finished tree is moved into the destination. That keeps a layer's opaque
marker or whiteout from deleting files the user already had in ``dest`` (``-o .`` is a common
way to copy build artifacts into a checkout), and makes "overwrite what the image has, keep
the rest" the merge rule, as BuildKit's local exporter does.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from dockyard.errors import StoreError
from dockyard.exporters.platforms import dirname
from dockyard.oci.image import PlatformImage
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.store.content import ContentStore


def unpack(store: ContentStore, image: PlatformImage, target: Path) -> None:
    """Apply every layer of ``image`` onto the empty directory ``target``, checking diff_ids."""
    diff_ids = image.config.diff_ids
    layers = image.manifest.layers
    if len(layers) != len(diff_ids):
        raise StoreError(f"image {image.descriptor.digest} has {len(layers)} layers but {len(diff_ids)} diff_ids",
                         hint="the stored image is inconsistent; rebuild it")
    for layer, diff_id in zip(layers, diff_ids, strict=True):
        applied = apply_layer(store.path(layer.digest), target, whiteouts=Whiteouts.APPLY)
        if applied.diff_id != diff_id:
            raise StoreError(f"layer {layer.digest} unpacked to {applied.diff_id}, its config says {diff_id}",
                             hint="the stored image is inconsistent; rebuild it")


def _copy_dir_metadata(src: str, dst: str) -> None:
    st = os.lstat(src)
    if os.geteuid() == 0:
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def merge_into(src: Path | str, dst: Path | str) -> None:
    """Move everything under ``src`` into ``dst`` (same file system): what exists is replaced,
    directories present on both sides are merged, and ``src`` is left empty."""
    with os.scandir(src) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        target = os.path.join(dst, entry.name)
        try:
            existing = os.lstat(target)
        except FileNotFoundError:
            existing = None
        if entry.is_dir(follow_symlinks=False) and existing is not None and stat.S_ISDIR(existing.st_mode):
            merge_into(entry.path, target)
            _copy_dir_metadata(entry.path, target)
            os.rmdir(entry.path)
            continue
        if existing is not None:
            if stat.S_ISDIR(existing.st_mode):
                shutil.rmtree(target)
            else:
                os.unlink(target)
        os.rename(entry.path, target)


def assemble(store: ContentStore, images: Sequence[PlatformImage], into: Path, *, split: bool | None,
             work: Path) -> list[Path]:
    """Unpack ``images`` into ``into`` (one ``linux_ARCH`` subdirectory each when split; split
    defaults to "several images"); ``work`` is scratch space on ``into``'s file system.
    Returns the directories written, one per image."""
    split = len(images) > 1 if split is None else split
    written = []
    for n, image in enumerate(images):
        fresh = work / f"unpack-{n}"
        fresh.mkdir(mode=0o755)
        unpack(store, image, fresh)
        target = into / dirname(image.platform) if split else into
        target.mkdir(mode=0o755, parents=True, exist_ok=True)
        merge_into(fresh, target)
        fresh.rmdir()
        written.append(target)
    return written

"""The ``local`` exporter: the result's root filesystem written into a directory.

``dest`` may exist and hold files: the image's files replace same-named ones and the rest
stay (see :mod:`dockyard.exporters.rootfs`). Scratch space is a hidden directory inside
``dest`` itself, so the final moves are renames on one file system whatever ``dest`` is.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from dockyard.errors import UsageError
from dockyard.exporters.rootfs import assemble
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import platform_images
from dockyard.store.content import ContentStore


def write_local(store: ContentStore, desc: Descriptor, dest: Path, *, platform_split: bool | None = None) -> list[Path]:
    """Unpack the result into ``dest``; returns the root directory of each platform written."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"cannot export into {dest}: it is not a directory", hint="give dest=DIR")
    images = platform_images(store, desc)
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".dockyard-export-", dir=dest))
    try:
        return assemble(store, images, dest, split=platform_split, work=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)

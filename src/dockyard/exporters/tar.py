"""The ``tar`` exporter: the result's root filesystem as one tar archive (a file or stdout).

The tree is assembled on disk first (layers applied in order, whiteouts honoured), then
archived with :func:`dockyard.oci.tarfs.write_tar`, the deterministic writer layers use:
sorted entries, numeric owners, mtimes from the image (per-platform directories get a
fixed mtime of 0). Merging layers in a stream would need the whole file list in memory
and still a second pass for hard links and opaque directories; a scratch tree is simpler.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dockyard.exporters.destination import open_destination
from dockyard.exporters.rootfs import assemble
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import platform_images
from dockyard.oci.tarfs import write_tar
from dockyard.paths import data_root
from dockyard.store.content import ContentStore
from dockyard.store.owner import stamp


def write_rootfs_tar(store: ContentStore, desc: Descriptor, dest: Path | None, *,
                     platform_split: bool | None = None) -> None:
    """Archive the result's root filesystem to ``dest`` (None: stdout)."""
    images = platform_images(store, desc)
    scratch = dest.parent if dest is not None else data_root() / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=stamp(".dockyard-tar-"), dir=scratch))
    try:
        root = work / "rootfs"
        root.mkdir()
        for top in assemble(store, images, root, split=platform_split, work=work):
            if top != root:
                os.utime(top, ns=(0, 0))
        with open_destination(dest, what="root filesystem archive") as sink:
            write_tar(root, sink)
    finally:
        shutil.rmtree(work, ignore_errors=True)

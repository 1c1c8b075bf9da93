"""fuse-overlayfs: the rootless snapshot mount where the kernel's overlayfs refuses one.

Kernels before 5.11 do not mount overlayfs inside a user namespace; fuse-overlayfs (a
user-space overlay, Debian package fuse-overlayfs) does, given /dev/fuse. Its upperdir has
the kernel's shape (whiteouts are char devices 0:0), except that a replaced directory carries
``user.fuseoverlayfs.opaque`` and two marker files, which :mod:`dockyard.oci.tarfs` reads as
the one opaque marker; it reads the kernel's markers in lowerdirs, so snapshots unpacked for
overlayfs stack under it unchanged. It also marks every directory it creates opaque (not
only replaced ones), so its layers carry more ``.wh..wh..opq`` entries than the kernel's:
the same filesystem, other bytes. One fuse-overlayfs process serves one mount and ends
when the mount is unmounted (umount2 as root of the namespace).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from dockyard.errors import StoreError

DEVICE = "/dev/fuse"


def binary() -> str | None:
    """fuse-overlayfs's path when it and /dev/fuse are usable by this process, else None."""
    found = shutil.which("fuse-overlayfs")
    if found is None or not os.access(DEVICE, os.R_OK | os.W_OK):
        return None
    return found


def mount(tool: str, *, lowers: Sequence[str], upper: str, work: str, merged: Path,
          cwd: str | os.PathLike[str]) -> None:
    """Mount ``lowers`` (top first) under ``upper`` on ``merged``; paths may be relative to ``cwd``."""
    options = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
    proc = subprocess.run([tool, "-o", options, os.fspath(merged)], cwd=cwd, capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        detail = [line for line in proc.stderr.splitlines() if "unknown argument ignored" not in line]
        raise StoreError(f"cannot mount fuse-overlayfs on {merged}: {' '.join(detail) or proc.returncode}",
                         hint="fuse-overlayfs needs /dev/fuse (in a container: --device /dev/fuse)")

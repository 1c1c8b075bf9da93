"""mount(2) and umount2(2) through libc, and reading which mounts exist.

Calling the syscalls directly costs microseconds where spawning mount(8) costs
milliseconds, and a RUN step mounts and unmounts once each (the design's budget per
step is 70 ms in all). mount(8) is used only where a working directory must be set
for relative overlay paths (see :mod:`dockyard.store.snapshots`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import StoreError
from dockyard.hosttools import libc

if TYPE_CHECKING:
    import ctypes

MNT_DETACH = 2


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library with mount(2)'s and umount2(2)'s argument types set (at the first mount)."""
    import ctypes

    found = libc()
    found.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    found.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return found


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


def mount(source: str, target: str | os.PathLike[str], fstype: str, options: str, *,
          cwd: str | os.PathLike[str] | None = None) -> None:
    """Mount ``source`` on ``target``; with ``cwd``, relative paths in ``options`` resolve there."""
    if cwd is not None:
        proc = subprocess.run(["mount", "-t", fstype, "-o", options, source, os.fspath(target)], cwd=cwd,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StoreError(f"cannot mount {fstype} on {target}: {proc.stderr.strip()}")
        return
    rc = _libc().mount(source.encode(), os.fsencode(target), fstype.encode(), 0, options.encode())
    if rc != 0:
        err = _errno()
        raise StoreError(f"cannot mount {fstype} on {target}: {os.strerror(err)}",
                         hint="overlay mounts need root and a kernel with overlayfs")


def unmount(target: str | os.PathLike[str], *, lazy: bool = False) -> None:
    """Unmount ``target``; ``lazy`` detaches it even while busy."""
    rc = _libc().umount2(os.fsencode(target), MNT_DETACH if lazy else 0)
    if rc != 0:
        err = _errno()
        raise StoreError(f"cannot unmount {target}: {os.strerror(err)}")


def mounts_under(directory: str | os.PathLike[str]) -> list[Path]:
    """Mount points at or below ``directory`` (deepest first, ready to be unmounted in order)."""
    base = os.path.realpath(directory)
    found: list[Path] = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == base or point.startswith(base + "/"):
                found.append(Path(point))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def unmount_all(directory: str | os.PathLike[str]) -> None:
    """Unmount everything at or below ``directory``, deepest first; lazily where still busy."""
    for point in mounts_under(directory):
        try:
            unmount(point)
        except StoreError:
            with contextlib.suppress(StoreError):
                unmount(point, lazy=True)

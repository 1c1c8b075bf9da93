"""Private tmpfs directories: where a step's secret material lives while the step runs.

A RUN step's config.json holds the values of ``--mount=type=secret,env=...`` and a secret
mount needs its value in a file runc can bind. Neither may reach a disk in plain text, so
each lives in a directory with its own tmpfs mounted on it (mode 0700), which is unmounted
and removed when the step ends: its contents vanish with the mount, whatever state the
files were left in. The directory's name carries the pid of the process that made it
(:mod:`dockyard.store.owner`), so the next dockyard command can reclaim what a killed
process left.

Where no tmpfs can be mounted (an unprivileged process without its own mount namespace),
the directory is made in /dev/shm instead, which is a tmpfs too.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dockyard.errors import StoreError
from dockyard.store.mount import mount, unmount_all
from dockyard.store.owner import stamp

SHM = Path("/dev/shm")


@contextlib.contextmanager
def private_tmpfs(parent: Path, prefix: str) -> Iterator[Path]:
    """A fresh directory under ``parent`` with a private tmpfs on it; gone when the block ends."""
    parent.mkdir(parents=True, exist_ok=True)
    name = stamp(f"{prefix}-")
    path = Path(tempfile.mkdtemp(prefix=name, dir=parent))
    try:
        mount("tmpfs", path, "tmpfs", "mode=0700")
        mounted = True
    except StoreError:
        mounted = False
        path.rmdir()
        path = Path(tempfile.mkdtemp(prefix=f"dockyard-{name}", dir=SHM if SHM.is_dir() else parent))
    try:
        yield path
    finally:
        if mounted:
            unmount_all(path)
        shutil.rmtree(path, ignore_errors=True)

"""Where an exporter's bytes go: a file replaced atomically, or stdout.

A half-written archive must never look like a finished one (a CI step that copies
``image.tar`` after a failed build would ship garbage), so files are written to a temporary
name in the same directory and renamed onto ``dest`` only when complete. Stdout is refused
when it is a terminal, as buildx does: binary tar on a console helps no one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.errors import UsageError


@contextlib.contextmanager
def open_destination(dest: Path | None, *, what: str) -> Iterator[BinaryIO]:
    """A binary sink for ``dest`` (None: stdout); the file appears at ``dest`` only on success."""
    if dest is None:
        out = sys.stdout.buffer
        if out.isatty():
            raise UsageError(f"refusing to write the {what} to a terminal",
                             hint="redirect stdout to a file or a pipe, or give dest=FILE")
        yield out
        out.flush()
        return
    check_destination(dest, what=what)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_destination(dest: Path, *, what: str) -> None:
    """A file destination must name a file in an existing directory: parents are not created
    (buildx creates the file with os.Create; only a ``type=local`` directory is made, as
    BuildKit's filesync does), so a mistyped path fails before the build instead of leaving
    directories anywhere."""
    if dest.is_dir():
        raise UsageError(f"cannot write the {what} to {dest}: it is a directory", hint="give dest=FILE")
    if not dest.parent.is_dir():
        raise UsageError(f"cannot write the {what} to {dest}: directory {dest.parent} does not exist",
                         hint="create the directory first, or fix the path")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename (metadata and iid files)."""
    with open_destination(path, what=path.name) as f:
        f.write(data)

"""Advisory file locks (flock) shared by the processes that use one store.

flock locks belong to an open file description and vanish when the process dies, even
with kill -9, so a lock never outlives its holder and no stale-lock cleanup is needed.
Two opens of the same file conflict even within one process, which lets tests play
two processes with two objects.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from dockyard.errors import StoreError


class FileLock:
    """A shared or exclusive lock on ``path`` (created if missing)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, exclusive: bool = True, blocking: bool = True) -> bool:
        """Take (or convert to) the lock; False when ``blocking`` is off and another holds it."""
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot open lock file {self.path}: {exc.strerror}") from exc
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(self._fd, flags)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

"""Empty directories made ahead of need, and used ones removed, by one background thread.

Creating a directory or a file on the store's filesystem costs 0.2-0.4 ms here (ext4 on a
virtual disk: a new inode and a directory block each), and a snapshot that a RUN step
mounts needs five directories and a file: about 2 ms a step, all of it on the step's path,
since the next step can only start once this one is committed. While a step's container
runs, though, the process only waits for it; so the directories of the *next* snapshot are
made then, and the overlay workdir and mount point of the last one are removed then.

What is made ahead is an ordinary temporary of the store (``tmp-*``): a killed process leaves
it for the next one's cleanup, like any snapshot being written, and :meth:`Spares.close`
removes the ones still unused. A failure in the background (a full disk) only means there is
no spare: the caller then makes its directories itself and meets the error there.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

_KEEP = 1  # one ready: a chain of steps takes one per step, and parallel stages make their own when none is left


class Spares:
    """A small stock of directories made by ``make``, refilled in the background as they are taken."""

    def __init__(self, make: Callable[[], Path], *, name: str) -> None:
        self._make = make
        self._name = name
        self._ready: list[Path] = []
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def take(self) -> Path | None:
        """A spare (what ``make`` returned), or None; either way a new one is made in the background."""
        with self._lock:
            if self._closed:
                return None
            spare = self._ready.pop() if self._ready else None
        self.fill()
        return spare

    def fill(self) -> None:
        """Make a spare in the background now, if none is ready (a caller that knows one is coming)."""
        self._submit(self._refill)

    def discard(self, path: Path) -> None:
        """Remove the tree at ``path`` in the background (a used workdir: nothing waits for it)."""
        if not self._submit(functools.partial(shutil.rmtree, path, ignore_errors=True)):
            shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        """Finish the background work and remove the spares nobody took."""
        with self._lock:
            self._closed = True  # from here on nothing is taken or queued
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join()
        for spare in self._ready:
            shutil.rmtree(spare, ignore_errors=True)
        self._ready = []

    def _submit(self, job: Callable[[], object]) -> bool:
        with self._lock:
            if self._closed:
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
            self._jobs.put(job)
        return True

    def _refill(self) -> None:
        with self._lock:
            if self._closed or len(self._ready) >= _KEEP:
                return
        try:
            spare = self._make()
        except OSError:
            return  # the caller will make its own, and see the error
        with self._lock:
            self._ready.append(spare)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            with contextlib.suppress(Exception):  # best effort: a spare less, a directory for the next cleanup
                job()

"""Pausing Python's cyclic garbage collector while a step makes many long-lived objects.

Listing and keying a build context of 50,000 files, then archiving it, makes a few hundred
thousand objects that live until the step ends (tree nodes, stat results, selected entries,
tar entries). None of them is part of a cycle, yet every full collection their allocation
triggers walks them all again: ~0.2 s of CPU in a 50,000-file COPY (measured with the
collector off around both, bench/phase_trace.py's build). :func:`paused` turns the collector
off for such a stretch and on again when the last overlapping pause ends (threads may pause
at once). Reference counting still frees everything meanwhile; cyclic garbage made meanwhile
waits for the first collection after.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pauses:
    """How many pauses are open, and whether the collector ran before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.resume = False


_PAUSES = _Pauses()


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (nor in other threads until every pause ends)."""
    with _PAUSES.lock:
        if _PAUSES.open == 0:
            _PAUSES.resume = gc.isenabled()
            gc.disable()
        _PAUSES.open += 1
    try:
        yield
    finally:
        with _PAUSES.lock:
            _PAUSES.open -= 1
            if _PAUSES.open == 0 and _PAUSES.resume:
                gc.enable()

"""Keeping Python's cyclic garbage collector off the many long-lived objects of a big context.

Listing and keying a build context of 50,000 files, then archiving it, makes a few hundred
thousand objects that live as long as the build (tree nodes, stat results, the selection,
tar entries). None of them is part of a cycle, yet every collection their allocation
triggers walks them again, and full collections walk them all: ~0.2-0.3 s of CPU in a
50,000-file COPY (measured with ``gc.callbacks`` around ``dockyard build``). So:

- :func:`paused` turns the collector off while such objects are made, and on again when the
  last overlapping pause ends (threads may pause at once);
- inside :func:`held` (a build, a solve), the end of the last pause also freezes what exists
  (``gc.freeze``), so no later collection of the build walks those objects again; the end of
  the outermost hold returns them to the collector (``gc.unfreeze``), so cyclic garbage of a
  build is never kept beyond it (a library caller may run many builds in one process). A
  process that froze objects itself (``gc.freeze`` before forking workers) is left alone.

Reference counting frees everything meanwhile as usual; cyclic garbage made inside a pause or
frozen by it waits for the first collection after the hold.

A CLI process also starts with a larger young generation (:func:`for_command_line`): its imports
alone make ~35,000 objects that live until exit, and the default threshold (700) walked them in
~86 collections, ~9 ms of a fully cached build's ~145 ms.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _State:
    """Open pauses and holds, whether the collector ran before the first pause, and whether
    objects are frozen now."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pauses = 0
        self.holds = 0
        self.resume = False
        self.frozen = False
        self.may_freeze = False


_STATE = _State()

# Net allocations (made minus freed) before the collector runs: more than a cached build's whole
# run makes, so a short command never collects, while a long one still does, every ~100,000 objects
# (~10-20 MB of cyclic garbage at most kept between collections).
COMMAND_LINE_THRESHOLD = 100_000


def for_command_line() -> None:
    """Raise the young generation's threshold for the rest of this process.

    Called once when the CLI starts, never by the library: a program that imports ``dockyard``
    keeps its own collector settings. The older generations keep their thresholds."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(COMMAND_LINE_THRESHOLD, middle, old)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (nor in other threads until every pause ends)."""
    with _STATE.lock:
        if _STATE.pauses == 0:
            _STATE.resume = gc.isenabled()
            gc.disable()
        _STATE.pauses += 1
    try:
        yield
    finally:
        with _STATE.lock:
            _STATE.pauses -= 1
            if _STATE.pauses == 0 and _STATE.resume:
                if _STATE.holds and _STATE.may_freeze:
                    gc.freeze()
                    _STATE.frozen = True
                gc.enable()


@contextlib.contextmanager
def held() -> Iterator[None]:
    """The objects pauses make inside the block stay out of collections until it ends."""
    with _STATE.lock:
        if _STATE.holds == 0:
            _STATE.may_freeze = gc.get_freeze_count() == 0  # else the freezing is the process's own
        _STATE.holds += 1
    try:
        yield
    finally:
        with _STATE.lock:
            _STATE.holds -= 1
            if _STATE.holds == 0 and _STATE.frozen:
                gc.unfreeze()
                _STATE.frozen = False

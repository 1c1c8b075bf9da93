"""Cooperative cancellation for the steps that are not containers (COPY, pulls, unpacking, compression).

A RUN step is stopped by killing its container; everything else runs in Python on a worker
thread, which cannot be killed. The solver binds the build's cancel event to the thread that
runs a step (:func:`bound`), and the long loops of those steps (tar writing and compression,
file copying, layer unpacking, blob downloads and ingests) call :func:`check` every chunk or
entry, so Ctrl-C stops them within a second and the step ends as ``CANCELED``, as BuildKit
shows a cancelled vertex. Outside a bound step :func:`check` does nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from dockyard.errors import BuildError

_local = threading.local()


class Cancelled(BuildError):
    """The build was interrupted while this step ran."""


@contextlib.contextmanager
def bound(event: threading.Event) -> Iterator[None]:
    """Make :func:`check` on this thread raise once ``event`` is set."""
    previous = getattr(_local, "event", None)
    _local.event = event
    try:
        yield
    finally:
        _local.event = previous


def current() -> threading.Event | None:
    """The cancel event bound to this thread (to bind it to work the step hands to another thread)."""
    event: threading.Event | None = getattr(_local, "event", None)
    return event


def check() -> None:
    """Raise :class:`Cancelled` when the step running on this thread has been cancelled."""
    event: threading.Event | None = getattr(_local, "event", None)
    if event is not None and event.is_set():
        raise Cancelled("cancelled")

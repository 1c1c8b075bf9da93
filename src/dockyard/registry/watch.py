"""What a registry client is waiting for, and the deadline of the operation it serves.

A registry that accepts connections and never answers used to make a push hang in silence:
each request waits out its read timeout, and retries. Every request a session sends is noted
here while it is in flight, so that a push can say after a few seconds what it waits for
("waiting 12s for 127.0.0.1:5000: ping (GET /v2/)") and, once the push's deadline
(``--push-timeout``) has passed, fail with a message that names the registry and the request.
Sessions cap each request's timeout and each retry's sleep at what is left of the deadline.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dockyard.registry.errors import UnreachableError

# a whole push (every blob, manifest and tag): generous for gigabytes over a slow link, yet
# well under the 15-30 minutes after which CI systems kill a silent job
DEFAULT_PUSH_TIMEOUT = 600.0


class DeadlineExceededError(UnreachableError):
    """The operation's deadline (``--push-timeout``) passed while a registry had not answered."""


@dataclass(frozen=True)
class Waiting:
    """A request in flight: the registry host, what it does, since when (monotonic seconds)."""

    host: str
    what: str
    since: float


class Watch:
    """Thread-safe: the requests in flight, and at most one deadline at a time."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._inflight: dict[int, Waiting] = {}
        self._deadline: tuple[float, float, str] | None = None  # (at, seconds, operation)
        self._last: Waiting | None = None

    @contextlib.contextmanager
    def waiting(self, host: str, what: str) -> Iterator[None]:
        """Note a request to ``host`` for the duration of the block."""
        ident = next(self._ids)
        entry = Waiting(host, what, self._clock())
        with self._lock:
            self._inflight[ident] = entry
            self._last = entry
        try:
            yield
        finally:
            with self._lock:
                self._inflight.pop(ident, None)

    def oldest(self) -> Waiting | None:
        """The request that has waited longest, if any is in flight."""
        with self._lock:
            return min(self._inflight.values(), key=lambda w: w.since, default=None)

    def now(self) -> float:
        return self._clock()

    @contextlib.contextmanager
    def deadline(self, seconds: float | None, operation: str) -> Iterator[None]:
        """Give ``operation`` (e.g. ``push to HOST/REPO``) ``seconds`` from now; None: no deadline."""
        with self._lock:
            saved = self._deadline
            if seconds is not None:
                self._deadline = (self._clock() + seconds, seconds, operation)
        try:
            yield
        finally:
            with self._lock:
                self._deadline = saved

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None without one); raises once it has passed."""
        with self._lock:
            deadline, last = self._deadline, self._last
        if deadline is None:
            return None
        at, seconds, operation = deadline
        left = at - self._clock()
        if left > 0:
            return left
        stuck = self.oldest() or last
        detail = f": no answer from {stuck.host} to {stuck.what}" if stuck is not None else ""
        raise DeadlineExceededError(f"{operation} did not finish within {seconds:g}s{detail}",
                                    registry=stuck.host if stuck is not None else None,
                                    hint="check that the registry is up and answering, or raise --push-timeout")

    def cap(self, seconds: float) -> float:
        """``seconds`` shortened to the time left (raising once the deadline has passed)."""
        left = self.remaining()
        return seconds if left is None else min(seconds, left)


def describe(entry: Waiting, now: float) -> str:
    """``waiting 12s for HOST: WHAT``, for the progress display."""
    return f"waiting {now - entry.since:.0f}s for {entry.host}: {entry.what}"


@contextlib.contextmanager
def reporting(watch: Watch, report: Callable[[str], None] | None, *, after: float = 5.0,
              every: float = 10.0) -> Iterator[None]:
    """While the block runs, report the longest wait once it passes ``after`` seconds, then ``every``."""
    if report is None:
        yield
        return
    stop = threading.Event()

    def run() -> None:
        said: dict[int, float] = {}
        while not stop.wait(1.0):
            entry = watch.oldest()
            now = watch.now()
            if entry is None or now - entry.since < after:
                continue
            key = id(entry)
            if now - said.get(key, entry.since + after - every) >= every:
                said[key] = now
                report(describe(entry, now))

    thread = threading.Thread(target=run, name="dockyard-registry-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()

"""The scheduler runs each distinct vertex once, in dependency order, in parallel, and stops
descending at cache hits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from dockyard import progress
from dockyard.errors import BuildError
from dockyard.solver import Cancellable, Vertex, solve


@dataclass(frozen=True)
class V:
    key: str
    inputs: Sequence[V] = ()
    sleep: float = 0.0

    @property
    def name(self) -> str:
        return f"step {self.key}"


@dataclass
class FakeWorker:
    cache: dict[str, str] = field(default_factory=dict)
    fail: str | None = None
    runs: list[str] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, vertex: Vertex) -> str | None:
        return self.cache.get(vertex.key)

    def run(self, vertex: Vertex, inputs: Sequence[str], log: Callable[[str], None],
            cancelled: threading.Event) -> str:
        with self.lock:
            self.runs.append(vertex.key)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            assert isinstance(vertex, V)
            time.sleep(vertex.sleep)
            log(f"ran {vertex.key}")
            if vertex.key == self.fail:
                raise BuildError(f"{vertex.key} failed")
            return vertex.key + "(" + ",".join(inputs) + ")"
        finally:
            with self.lock:
                self.active -= 1


def test_diamond_runs_shared_vertex_once_in_order() -> None:
    base = V("base")
    left, right = V("left", (base,)), V("right", (V("base"),))
    top = V("top", (left, right))
    worker = FakeWorker()
    out = solve([top, top], worker, jobs=4)
    assert worker.runs.count("base") == 1
    assert worker.runs.index("base") < worker.runs.index("left") < worker.runs.index("top")
    assert out.results["top"] == "top(left(base()),right(base()))"
    assert sorted(out.ran) == ["base", "left", "right", "top"]


def test_independent_vertices_run_concurrently_up_to_jobs() -> None:
    leaves = [V(f"l{i}", sleep=0.2) for i in range(4)]
    worker = FakeWorker()
    solve([V("top", tuple(leaves))], worker, jobs=2)
    assert worker.peak == 2


def test_cache_hit_stops_descent() -> None:
    base = V("base")
    mid = V("mid", (base,))
    top = V("top", (mid,))
    worker = FakeWorker(cache={"mid": "mid(stored)"})
    events: list[progress.Event] = []
    out = solve([top], worker, jobs=2, listener=events.append)
    assert worker.runs == ["top"]
    assert out.results["top"] == "top(mid(stored))"
    assert out.cached == ["mid"]
    assert [type(e).__name__ for e in events] == ["Cached", "Started", "Log", "Done"]


def test_failure_propagates_and_later_steps_do_not_run() -> None:
    base = V("base")
    bad = V("bad", (base,))
    top = V("top", (bad,))
    worker = FakeWorker(fail="bad")
    events: list[progress.Event] = []
    with pytest.raises(BuildError, match="bad failed"):
        solve([top], worker, jobs=2, listener=events.append)
    assert "top" not in worker.runs
    assert any(isinstance(e, progress.Failed) and e.vertex == "bad" for e in events)


@dataclass
class CancellableWorker(FakeWorker):
    """A worker with the optional ``cancel()`` capability (``solver.Cancellable``), as OpWorker has."""

    cancels: int = 0

    def cancel(self) -> None:
        self.cancels += 1


def test_a_failed_solve_cancels_a_worker_that_can_cancel_once() -> None:
    worker = CancellableWorker(fail="bad")
    assert isinstance(worker, Cancellable) and not isinstance(FakeWorker(), Cancellable)
    with pytest.raises(BuildError, match="bad failed"):
        solve([V("top", (V("bad"),))], worker, jobs=2)
    assert worker.cancels == 1
    solve([V("fine")], worker, jobs=2)  # a solve that succeeds cancels nothing
    assert worker.cancels == 1


@dataclass
class LoopingWorker:
    """``spin`` loops on cancel.check() (as COPY, unpack and compression do); ``fail`` fails once it runs."""

    started: threading.Event = field(default_factory=threading.Event)

    def cached(self, vertex: Vertex) -> str | None:
        return None

    def run(self, vertex: Vertex, inputs: Sequence[str], log: Callable[[str], None],
            cancelled: threading.Event) -> str:
        from dockyard import cancel

        if vertex.key == "spin":
            self.started.set()
            for _ in range(10_000):  # ends long before this unless cancelled
                cancel.check()
                time.sleep(0.01)
            return "finished"
        self.started.wait(10)
        raise BuildError("fail failed")


def test_a_sibling_failure_cancels_a_running_non_run_step() -> None:
    # BuildKit marks the other running vertices CANCELED when one fails; a Python step stops at
    # its next cancel.check() instead of running to the end
    events: list[progress.Event] = []
    with pytest.raises(BuildError, match="fail failed"):
        solve([V("spin"), V("fail")], LoopingWorker(), jobs=2, listener=events.append)
    kinds = {(type(e).__name__, e.vertex) for e in events}
    assert ("Canceled", "spin") in kinds and ("Failed", "fail") in kinds
    assert ("Done", "spin") not in kinds


def test_cancel_check_outside_a_step_does_nothing() -> None:
    from dockyard import cancel

    cancel.check()
    event = threading.Event()
    event.set()
    with cancel.bound(event), pytest.raises(cancel.Cancelled):
        cancel.check()
    cancel.check()

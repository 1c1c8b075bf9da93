"""The scheduler: walk a build graph, reuse what the cache has, run the rest in parallel.

Vertices are identified by their cache key, so identical work (the same op with the same
inputs, e.g. a build stage shared by two targets) runs once. The walk starts at the roots:
a vertex found in the cache is not descended into, so a warm rebuild touches neither its
inputs nor the base image. Independent vertices run concurrently, up to ``jobs`` at once.

The solver knows nothing of Dockerfiles, runc or layers: a :class:`Worker` looks vertices
up and runs them, and progress goes to a listener as typed events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from dockyard import cancel, progress
from dockyard.errors import DockyardError

R = TypeVar("R")


class Vertex(Protocol):
    """A step of the graph: ``key`` is its cache key, ``inputs`` the vertices it consumes."""

    @property
    def key(self) -> str: ...

    @property
    def inputs(self) -> Sequence[Vertex]: ...

    @property
    def name(self) -> str: ...


class Worker(Protocol[R]):
    """Looks vertices up in the cache and executes them (the engine implements it)."""

    def cached(self, vertex: Vertex) -> R | None:
        """The stored result for ``vertex``, or None when it must run."""
        ...

    def run(self, vertex: Vertex, inputs: Sequence[R], log: Callable[[str], None],
            cancelled: threading.Event) -> R:
        """Execute ``vertex`` given its inputs' results; ``log`` takes output lines."""
        ...


@runtime_checkable
class Cancellable(Protocol):
    """A :class:`Worker` that can stop its running steps early (an optional capability)."""

    def cancel(self) -> None:
        """Called once when the solve fails or is interrupted; the scheduler then waits for the steps to return."""
        ...


@dataclass
class Outcome(Generic[R]):
    """What a solve produced: results by key, and which keys ran or came from the cache."""

    results: dict[str, R]
    ran: list[str]
    cached: list[str]


def solve(
    roots: Sequence[Vertex],
    worker: Worker[R],
    *,
    jobs: int,
    listener: progress.Listener | None = None,
) -> Outcome[R]:
    """Compute every root; raise the first failure after the running steps have stopped."""
    emit = listener or (lambda _event: None)
    results: dict[str, R] = {}
    pending: dict[str, Vertex] = {}
    cached_keys: list[str] = []
    _plan(roots, worker, results=results, pending=pending, cached_keys=cached_keys, emit=emit)

    waiting_on = {k: {i.key for i in v.inputs if i.key in pending} for k, v in pending.items()}
    dependents: dict[str, list[str]] = {k: [] for k in pending}
    for k, deps in waiting_on.items():
        for d in deps:
            dependents[d].append(k)

    ran: list[str] = []
    cancelled = threading.Event()
    running: dict[Future[R], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="dockyard-step") as pool:

        def submit_ready() -> None:
            for k in [k for k, deps in waiting_on.items() if not deps]:
                del waiting_on[k]
                vertex = pending[k]
                inputs = [results[i.key] for i in vertex.inputs]
                running[pool.submit(_execute, vertex, inputs, worker, emit, cancelled)] = k

        try:
            submit_ready()
            while running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    key = running.pop(fut)
                    results[key] = fut.result()  # re-raises the step's error
                    ran.append(key)
                    for dep in dependents[key]:
                        waiting_on[dep].discard(key)
                submit_ready()
        except BaseException:
            cancelled.set()
            for fut in running:
                fut.cancel()
            if isinstance(worker, Cancellable):
                worker.cancel()  # e.g. kill running containers, so the pool's shutdown does not wait for them
            raise
    return Outcome(results=results, ran=ran, cached=cached_keys)


def _plan(roots: Sequence[Vertex], worker: Worker[R], *, results: dict[str, R], pending: dict[str, Vertex],
          cached_keys: list[str], emit: progress.Listener) -> None:
    """Top-down: a cache hit stops the descent; misses are collected in ``pending``."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        vertex = stack.pop()
        if vertex.key in seen:
            continue
        seen.add(vertex.key)
        hit = worker.cached(vertex)
        if hit is not None:
            results[vertex.key] = hit
            cached_keys.append(vertex.key)
            emit(progress.Cached(vertex.key, name=vertex.name))
            continue
        pending[vertex.key] = vertex
        stack.extend(vertex.inputs)


def _execute(vertex: Vertex, inputs: Sequence[R], worker: Worker[R], emit: progress.Listener,
             cancelled: threading.Event) -> R:
    if cancelled.is_set():
        raise cancel.Cancelled(f"{vertex.name}: cancelled")
    emit(progress.Started(vertex.key, name=vertex.name))
    start = time.monotonic()
    try:
        with cancel.bound(cancelled):  # COPY, pulls, unpacking and compression stop at their next chunk
            result = worker.run(vertex, inputs, lambda line: emit(progress.Log(vertex.key, line=line)), cancelled)
    except Exception as exc:
        if cancelled.is_set():  # interrupted, or a sibling failed: CANCELED, as BuildKit marks such vertices
            emit(progress.Canceled(vertex.key, duration=time.monotonic() - start))
            raise cancel.Cancelled(f"{vertex.name}: cancelled") from None
        message = exc.message if isinstance(exc, DockyardError) else f"{type(exc).__name__}: {exc}"
        emit(progress.Failed(vertex.key, message=message))
        raise
    emit(progress.Done(vertex.key, duration=time.monotonic() - start))
    return result

"""Where a build's wall time goes, phase by phase: ``dockyard build`` run with timers wrapped around
the functions that do the work (imports, plan and key, each step's snapshot, runtime, layer).

    .venv/bin/python bench/phase_trace.py build --progress quiet --no-cache --platform linux/amd64 CONTEXT

Takes the arguments of ``python -m dockyard`` and prints, after the build, the total time spent in
each wrapped function, the number of calls and the time per call (nested phases are indented:
their time is part of the phase above). ``--timeline`` first (``phase_trace.py --timeline build
...``) also prints every call with its start and end (ms since the trace started) and its thread:
which steps and layer writers ran side by side. Not a test and not a product option: it reaches into
private functions and measures the local node only; the timers cost microseconds per call.

Measured here (2 cores, a quiet moment, 20 ``RUN true`` steps on the busybox base): 25.9 ms per
step in the worker, of which 22.4 ms is runc running and 0.7 ms starting it; ours is ~3 ms
(snapshot prepare 0.7, overlay mount 0.7, commit 0.4, empty layer 0.2, cache record 0.3); the
whole build 0.75-0.79 s against 0.51-0.56 s for 20 bare ``runc run``. After issue 17's RUN work
(directories made ahead, the probe's answer kept, records written in the background), at load
average 4: 25.7-30.3 ms per step, of which runc 20.2-22.8 ms running and 0.5-0.7 ms starting;
ours: prepare 0.5, overlay mount 2-5 ms (the kernel making the workdir's inodes while other
processes churn files on this journal-less ext4; 0.3 ms when quiet), commit 0.2-0.3, empty
layer 0.1, record queued 0.02; the whole build 0.67-0.78 s with imports at 0.08 s. A COPY of 50,000 files
(bench/scenarios.py ``files``, 2026-11-29, load 5): plan + key 0.38-0.42 s (stat cache load 0.05,
context checksums 0.32: walk, stat, records), the COPY 0.43-0.52 s (its entries from the key's
selection 0.09-0.10, writing the layer 0.33-0.41: reading the files ~0.18 of it), 1.0-1.1 s in
all (imports 0.07) against 0.32-0.35 s for ``tar -cf - files | cat``; it was 2.1-2.4 s.
"""

from __future__ import annotations

import atexit
import collections
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

STARTED = time.perf_counter()
TOTALS: dict[str, float] = collections.defaultdict(float)
CALLS: collections.Counter[str] = collections.Counter()
EVENTS: list[tuple[float, float, str, str]] = []  # start, end, thread, label (with --timeline)
TIMELINE = sys.argv[1:2] == ["--timeline"]


def _wrap(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)
    TOTALS[label] = 0.0  # the report keeps this order

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            end = time.perf_counter()
            TOTALS[label] += end - start
            CALLS[label] += 1
            if TIMELINE:
                EVENTS.append((start - STARTED, end - STARTED, threading.current_thread().name, label.strip()))

    setattr(owner, name, timed)


def _report() -> None:
    for start, end, thread, label in sorted(EVENTS):
        print(f"{start * 1000:8.1f} {end * 1000:8.1f}  {thread[:24]:24} {label}", file=sys.stderr)
    print(f"wall {time.perf_counter() - STARTED:.3f} s (imports included: {IMPORTED - STARTED:.3f} s)",
          file=sys.stderr)
    for label, seconds in TOTALS.items():
        count = CALLS[label]
        if not count:
            continue
        print(f"{label:<34} {seconds * 1000:9.1f} ms  calls {count:5d}  per call {seconds * 1000 / count:7.2f} ms",
              file=sys.stderr)


from dockyard.cli.main import main  # noqa: E402 - after the clock starts: imports are part of the trace
from dockyard.engine import copylayer, worker  # noqa: E402
from dockyard.executor import runc  # noqa: E402
from dockyard.graph import contenthash  # noqa: E402
from dockyard.phases import build  # noqa: E402
from dockyard.store import cache, snapshots  # noqa: E402

IMPORTED = time.perf_counter()
# order: the report lists phases in this order, nested ones indented under theirs (those never called are left out)
_wrap(build, "planned_request", "plan + key")
_wrap(contenthash.StatCache, "load", "  stat cache load")
_wrap(build, "key_plan", "  key")
_wrap(contenthash.ContextHasher, "_records", "    context checksums (walk, stat, records)")
_wrap(worker.OpWorker, "_exec", "RUN step")
_wrap(snapshots.Snapshotter, "prepare", "  snapshot prepare")
_wrap(snapshots.Active, "mount", "  overlay mount")
_wrap(runc.RuncExecutor, "run", "  executor run")
_wrap(subprocess.Popen, "__init__", "    runtime start (fork+exec)")
_wrap(runc, "_pump", "    runtime until exit")
_wrap(snapshots.Active, "commit", "  commit (unmount, rename)")
_wrap(worker.OpWorker, "_layer", "  layer of the diff (in the background)")
_wrap(worker.OpWorker, "_copy", "COPY step")
_wrap(copylayer, "layer_entries", "  entries from the context")
_wrap(worker, "make_layer_of", "  layer written from the context")
_wrap(copylayer, "select", "    selection (walk, stat; not when keyed here)")
_wrap(cache.CacheDB, "put", "cache record")
_wrap(cache.CacheDB, "put_later", "step record queued (written in the background)")
_wrap(cache.CacheDB, "flush", "step records flushed (after the last step)")
_wrap(worker.OpWorker, "finish", "layers still being written, waited for (after the last step)")
atexit.register(_report)

if __name__ == "__main__":
    sys.argv = ["dockyard", *sys.argv[2 if TIMELINE else 1:]]
    main()

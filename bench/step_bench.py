"""Overhead of one trivial RUN step: overlay snapshot + runc ``true`` + commit, against bare ``runc run``.

    .venv/bin/python bench/step_bench.py [--steps 20] [--rootfs .cache/busybox/rootfs-amd64.tar]

Each step stacks on the previous one (as 20 RUN lines in a Dockerfile would): prepare an
upperdir over the stack, mount the overlay, resolve USER, write config.json, ``runc run``
the step, unmount and commit. The baseline runs the same config with ``runc run`` on an
already extracted rootfs, timing only the subprocess. Needs root. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dockyard.executor.base import RunRequest
from dockyard.executor.runc import RuncExecutor, choose_runtime
from dockyard.executor.spec import runtime_spec
from dockyard.executor.user import resolve_user
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.store.snapshots import Snapshotter

REPO = Path(__file__).resolve().parents[1]


def bare_runc(rootfs: Path, steps: int, work: Path) -> list[float]:
    """Milliseconds per ``runc run`` of ``true`` with a ready bundle (no snapshot work)."""
    runtime = choose_runtime()
    request = RunRequest(rootfs=rootfs, args=["/bin/true"])
    config = runtime_spec(request, rootfs=rootfs, user=resolve_user(rootfs, ""))
    bundle = work / "bare-bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(config))
    times = []
    for i in range(steps):
        started = time.perf_counter()
        subprocess.run([runtime, "run", "--bundle", str(bundle), "--no-new-keyring", f"bench-bare-{os.getpid()}-{i}"],
                       stdin=subprocess.DEVNULL, capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def steps_on_snapshots(tarball: Path, steps: int, work: Path) -> tuple[list[float], dict[str, list[float]]]:
    """Milliseconds per full step, and per phase (prepare+mount, run, commit)."""
    snaps = Snapshotter(work / "snapshots")
    executor = RuncExecutor(state_dir=work / "run")
    print(f"runtime: {executor.runtime}")  # probes crun before anything is timed
    with snaps.prepare(None) as active:
        apply_layer(tarball, active.upper, whiteouts=Whiteouts.OVERLAY)
        parent = active.commit().id
    totals: list[float] = []
    phases: dict[str, list[float]] = {"prepare+mount": [], "run": [], "commit": []}
    for _ in range(steps):
        t0 = time.perf_counter()
        active = snaps.prepare(parent)
        rootfs = active.mount()
        t1 = time.perf_counter()
        result = executor.run(RunRequest(rootfs=rootfs, args=["/bin/true"]))
        t2 = time.perf_counter()
        parent = active.commit().id
        t3 = time.perf_counter()
        if result.exit_code != 0:
            raise SystemExit(f"step failed: {result.tail}")
        totals.append((t3 - t0) * 1000)
        phases["prepare+mount"].append((t1 - t0) * 1000)
        phases["run"].append((t2 - t1) * 1000)
        phases["commit"].append((t3 - t2) * 1000)
    snaps.close()
    return totals, phases


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):6.1f} ms  mean {statistics.mean(values):6.1f} ms  " \
           f"min {min(values):6.1f} ms  max {max(values):6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rootfs", type=Path, default=REPO / ".cache" / "busybox" / "rootfs-amd64.tar")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (overlay mounts and runc need it)")
    with tempfile.TemporaryDirectory(prefix="dockyard-step-bench-") as tmp:
        work = Path(tmp)
        os.environ["DOCKYARD_ROOT"] = str(work / "root")
        rootfs = work / "rootfs"
        rootfs.mkdir()
        subprocess.run(["tar", "-xf", str(args.rootfs), "-C", str(rootfs)], check=True)
        (work / "warm").mkdir()
        bare_runc(rootfs, 2, work / "warm")  # page cache and binaries warm for both sides
        bare = bare_runc(rootfs, args.steps, work)
        totals, phases = steps_on_snapshots(args.rootfs, args.steps, work)
    print(f"steps: {args.steps}")
    print(f"bare runc run true      : {_fmt(bare)}")
    print(f"dockyard step (overlay) : {_fmt(totals)}")
    for name, values in phases.items():
        print(f"  {name:<22}: {_fmt(values)}")
    overhead = statistics.median(totals) - statistics.median(bare)
    print(f"overhead over bare runc : {overhead:+.1f} ms per step (median)")


if __name__ == "__main__":
    main()

"""The measuring method shared by every scenario: alternate the sides, count several runs, keep
the distribution, and compare run by run.

Each counted round runs dockyard, then the peer (then the floor, when there is one), each
after its own untimed ``reset`` (fresh state for cold scenarios). Times are wall-clock of
the whole command; peak RSS comes from the kernel (``wait4`` rusage of the child and the
descendants it waited for). The ratio reported is the median of per-round ratios
dockyard/peer, which cancels slow drifts of the machine better than a ratio of medians.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Side:
    """One contender of a scenario: a command, and an untimed reset run before every run."""

    label: str
    argv: Sequence[str]
    reset: Callable[[], None] | None = None
    env: dict[str, str] | None = None
    cwd: Path | None = None


@dataclass(frozen=True)
class Scenario:
    """A comparison; ``dockyard`` is None (with ``missing`` saying why) until the feature lands."""

    key: str
    title: str
    peer: Side | None
    dockyard: Side | None = None
    floor: Side | None = None
    missing: str = ""
    prepare: Callable[[], None] | None = None
    unit: str = "s"


@dataclass
class Stats:
    label: str
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "label": self.label,
            "runs": len(self.times),
            "min": min(self.times),
            "median": statistics.median(self.times),
            "max": max(self.times),
            "peak_rss_mb": round(max(self.rss_kb) / 1024, 1),
            "times": [round(t, 4) for t in self.times],
        }


class RunFailed(Exception):
    """A contender's command failed; the scenario is reported as failed with its output tail."""


def run_once(side: Side) -> tuple[float, int]:
    """Run ``side`` once after its reset; return (seconds, peak RSS in KiB)."""
    if side.reset is not None:
        side.reset()
    env = {**os.environ, **(side.env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(list(side.argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            cwd=side.cwd)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = output.decode(errors="replace").strip().splitlines()[-5:]
        raise RunFailed(f"{side.label} exited {proc.returncode}: " + " | ".join(tail))
    return elapsed, int(usage.ru_maxrss)


def measure(scenario: Scenario, *, runs: int, warmup: int = 1) -> dict[str, object]:
    """Alternate the sides ``warmup`` + ``runs`` times; summarise the counted runs."""
    sides = [s for s in (scenario.dockyard, scenario.peer, scenario.floor) if s is not None]
    stats = {s.label: Stats(s.label) for s in sides}
    if scenario.prepare is not None:
        scenario.prepare()
    for round_no in range(warmup + runs):
        for side in sides:
            elapsed, rss = run_once(side)
            if round_no >= warmup:
                stats[side.label].times.append(elapsed)
                stats[side.label].rss_kb.append(rss)
    result: dict[str, object] = {s.label: stats[s.label].summary() for s in sides}
    if scenario.dockyard is not None and scenario.peer is not None:
        ours, theirs = stats[scenario.dockyard.label].times, stats[scenario.peer.label].times
        result["ratio_median"] = round(statistics.median(a / b for a, b in zip(ours, theirs, strict=True)), 3)
    if scenario.dockyard is not None and scenario.floor is not None:
        ours, floor = stats[scenario.dockyard.label].times, stats[scenario.floor.label].times
        result["floor_ratio_median"] = round(statistics.median(a / b for a, b in zip(ours, floor, strict=True)), 3)
    return result


def _version(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False).stdout
    except OSError:
        return "missing"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    from dockyard import __version__

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "dockyard": __version__,
        "buildah": _version(["buildah", "--version"]),
        "skopeo": _version(["skopeo", "--version"]),
        "runc": _version(["runc", "--version"]),
        "qemu": _version(["qemu-aarch64-static", "--version"]),
        "max_rss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }

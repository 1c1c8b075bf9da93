"""The measuring method shared by every scenario: alternate the sides, count several runs, keep
the distribution, and compare run by run.

Each counted round runs dockyard, then each peer in turn (then the floor, when there is
one), each after its own untimed ``reset`` (fresh state for cold scenarios) and an untimed
``sync``: the kernel writes back what the previous run left dirty before the next starts, so no
side's time includes the writeback of the other's files (a back-to-back artefact: CI builds are
minutes apart). Times are
wall-clock of the whole command, or, for a ``self_timed`` side, the seconds the command
prints itself (an in-process measurement such as parse+plan). Peak RSS comes from the kernel
(``wait4`` rusage of the child and the descendants it waited for). The ratio reported per
peer is the median of per-round ratios dockyard/peer, which cancels slow drifts of the
machine better than a ratio of medians; the same for dockyard/floor.
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
    self_timed: bool = False  # the command's last output line is ``seconds=FLOAT``


@dataclass(frozen=True)
class Scenario:
    """A comparison; ``dockyard`` is None (with ``missing`` saying why) when the feature is missing.

    ``peers`` may hold several contenders (push: buildah and skopeo); ``floor`` is the
    physical lower bound (bare runc start, single-thread compression, a plain tar read).
    """

    key: str
    title: str
    peers: tuple[Side, ...] = ()
    dockyard: Side | None = None
    floor: Side | None = None
    missing: str = ""
    prepare: Callable[[], None] | None = None
    note: str = ""


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
    os.sync()  # the previous run's writes go to disk now, not during this run's time
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
    if side.self_timed:
        lines = output.decode(errors="replace").strip().splitlines()
        try:
            elapsed = float(lines[-1].split("seconds=", 1)[1])
        except (IndexError, ValueError):
            raise RunFailed(f"{side.label} printed no seconds= line: " + " | ".join(lines[-3:])) from None
    return elapsed, int(usage.ru_maxrss)


def _ratio(ours: list[float], theirs: list[float]) -> float:
    return round(statistics.median(a / b for a, b in zip(ours, theirs, strict=True)), 3)


def measure(scenario: Scenario, *, runs: int, warmup: int = 1) -> dict[str, object]:
    """Alternate the sides ``warmup`` + ``runs`` times; summarise the counted runs.

    Returns ``sides`` (one summary per contender with its ``role``: dockyard, peer or
    floor), ``ratios`` (peer label -> median of dockyard/peer per round) and
    ``floor_ratio`` (median of dockyard/floor per round).
    """
    roles = [("dockyard", scenario.dockyard), *(("peer", p) for p in scenario.peers), ("floor", scenario.floor)]
    sides = [(role, side) for role, side in roles if side is not None]
    stats = {side.label: Stats(side.label) for _, side in sides}
    if scenario.prepare is not None:
        scenario.prepare()
    for round_no in range(warmup + runs):
        for _, side in sides:
            elapsed, rss = run_once(side)
            if round_no >= warmup:
                stats[side.label].times.append(elapsed)
                stats[side.label].rss_kb.append(rss)
    result: dict[str, object] = {
        "sides": [{"role": role, **stats[side.label].summary()} for role, side in sides]}
    if scenario.dockyard is not None:
        ours = stats[scenario.dockyard.label].times
        result["ratios"] = {p.label: _ratio(ours, stats[p.label].times) for p in scenario.peers}
        if scenario.floor is not None:
            result["floor_ratio"] = _ratio(ours, stats[scenario.floor.label].times)
    return result


def _version(argv: Sequence[str]) -> str:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=10, check=False)
        out = proc.stdout or proc.stderr
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
        "pigz": _version(["pigz", "--version"]),
        "load_average": os.getloadavg(),
        "max_rss_self_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }

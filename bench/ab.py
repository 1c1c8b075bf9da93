"""A/B of commands on a shared machine: run them in turn, N rounds, and report the minimum and the
median of each one's CPU time (user + system of the process and its children) and wall time.

    .venv/bin/python bench/ab.py 20 -- python -m dockyard build --progress quiet CTX \\
                                    -- /other/checkout/.venv/bin/python -m dockyard build --progress quiet CTX

Why not ``make bench``: a full run alternates dockyard with buildah, whose writeback and inode churn
move the scenarios that write a lot by 20-40% from run to run. Judging one change needs the two
versions alternated against each other, and the minimum of CPU time (RUSAGE_CHILDREN), which
other processes disturb least. Each command's output is discarded and a failing command stops the
run; a command that must change something first (edit a context file) is written as
``sh -c '...; exec ...'``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import time


def _split(words: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "--":
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _run(command: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run."""
    os.sync()  # as the bench harness: the previous run's writeback happens before, not during, this one
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rounds", type=int, help="runs of each command, in turn")
    parser.add_argument("commands", nargs=argparse.REMAINDER, help="-- COMMAND [-- COMMAND ...]")
    args = parser.parse_args()
    commands = _split(args.commands)
    if len(commands) < 2:
        parser.error("give at least two commands, each after --")
    times: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(args.rounds):
        for index, command in enumerate(commands):
            times[index].append(_run(command))
    for index, command in enumerate(commands):
        cpu = [c for c, _ in times[index]]
        wall = [w for _, w in times[index]]
        print(f"{index}: cpu min {min(cpu) * 1000:.0f} med {statistics.median(cpu) * 1000:.0f} ms | "
              f"wall min {min(wall) * 1000:.0f} med {statistics.median(wall) * 1000:.0f} ms | {' '.join(command)}")


if __name__ == "__main__":
    main()

"""Several real processes changing builders at the same moment: nothing is lost, nothing is torn."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.unit.builders.dockyard_cli import assert_one_line_error, ls_json, run

# Each process sleeps until a common instant, then runs one dockyard command in-process,
# so the read-modify-write sequences really overlap (process start-up jitter is absorbed).
_AT_ONCE = """
import sys, time
from dockyard.cli.main import main
time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
main(sys.argv[2:])
"""


def _at_once(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    start = time.time() + 2.0
    procs = [subprocess.Popen([sys.executable, "-c", _AT_ONCE, str(start), *cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ)) for cmd in commands]
    results = []
    for p, cmd in zip(procs, commands, strict=True):
        out, err = p.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(cmd, p.returncode, out, err))
    return results


def test_two_processes_create_builders_at_once() -> None:
    results = _at_once([["create", "--name", "first", "--use"], ["create", "--name", "second", "--use"]])
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    docs = ls_json()
    assert set(docs) == {"default", "first", "second"}
    assert [n for n, d in docs.items() if d["Current"]] in (["first"], ["second"])


def test_many_processes_appending_nodes_to_one_builder_lose_none() -> None:
    run("create", "--name", "shared", "--node", "n0")
    results = _at_once([["create", "--append", "--name", "shared", "--node", f"n{i}"] for i in range(1, 9)])
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert sorted(n["Name"] for n in ls_json()["shared"]["Nodes"]) == [f"n{i}" for i in range(9)]


def test_same_name_created_twice_at_once_one_wins() -> None:
    results = _at_once([["create", "--name", "dup", "--platform", "linux/amd64"],
                        ["create", "--name", "dup", "--platform", "linux/arm64"]])
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2], [r.stderr for r in results]
    loser = next(r for r in results if r.returncode)
    assert_one_line_error(loser, "already exists")
    assert len(ls_json()["dup"]["Nodes"]) == 1


_HOLD = """
import sys, time
from dockyard.builders.instances import open_builder
with open_builder(sys.argv[1]).in_use():
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_rm_refuses_a_builder_a_build_is_using(dockyard_root: Path) -> None:
    run("create", "--name", "busy")
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, "busy"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert_one_line_error(run("rm", "busy", check=False), "in use by a running build")
        assert ls_json()["busy"]["LastActivity"] is not None  # entering in_use() records the use
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    run("rm", "busy")
    assert "busy" not in ls_json()
    assert not (dockyard_root / "builders" / "busy").exists()

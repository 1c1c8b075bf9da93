"""What a killed build leaves is reclaimed by the next command that opens the store (issue 18,
items 5 and 11).

kill -9 during a RUN with secrets leaves the step's container running, its overlay mounted, the
bundle (config.json with an ``env=`` secret's value) and the secret file on their tmpfs mounts.
The next ``build``, ``prune`` or ``du`` kills the container, unmounts and removes all of it, plus
the half-written blobs of dead processes; what a live process holds stays and ``du`` counts it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard
from tests.integration.build.leaks import files_holding, processes_holding, secret_step, step_containers

pytestmark = pytest.mark.integration


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("command", ["build", "prune", "du"])
def test_next_command_reclaims_what_kill_9_left(busybox_base: str, tmp_path: Path, dockyard_root: Path,
                                                command: str) -> None:
    step = secret_step(tmp_path, busybox_base)
    proc = step.start()
    proc.kill()
    proc.wait()
    killed = proc.pid
    # what the kill left: the container, its mounts, the bundle and secret tmpfs
    assert step_containers(killed) != []
    assert str(dockyard_root) in Path("/proc/mounts").read_text()
    assert processes_holding(step.marker) != []
    # half-written blobs of a dead process, and one of a live process (this test) that must stay
    dead = _dead_pid()
    ingest = dockyard_root / "content" / "blobs" / "sha256"
    (ingest / f".ingest-{dead}-abcd1234").write_bytes(b"x" * 300_000)
    (dockyard_root / "content" / "ingest" / f".layer-{dead}-abcd1234").write_bytes(b"y" * 100_000)
    live = ingest / f".ingest-{os.getpid()}-live0000"
    live.write_bytes(b"z" * 200_000)

    if command == "build":
        (step.ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN echo rebuilt > /r\n")
        dockyard("build", "--progress", "quiet", "-o", f"type=local,dest={tmp_path / 'out'}", str(step.ctx))
        assert (tmp_path / "out" / "r").read_text() == "rebuilt\n"
    elif command == "prune":
        out = dockyard("prune", "--all", "--force")
        assert re.search(r"Removed [1-9][0-9]* leftovers of killed builds \(1 containers\)", out.stdout), out.stdout
    else:
        out = dockyard("du")
        held = re.search(r"In use:\s+(\S+)", out.stdout)
        assert held is not None and held.group(1).endswith("kB"), out.stdout  # the live ingest file

    assert step_containers(killed) == []
    assert str(dockyard_root) not in Path("/proc/mounts").read_text()
    assert [p.name for p in (dockyard_root / "run").iterdir()] == []
    assert [p.name for p in ingest.iterdir() if p.name.startswith(".")] == [live.name]
    assert list((dockyard_root / "content" / "ingest").iterdir()) == []
    assert [p.name for p in (dockyard_root / "snapshots").iterdir() if p.name.startswith("tmp-")] == []
    assert [p for p in Path("/dev/shm").iterdir() if str(killed) in p.name] == []
    assert files_holding(step.marker, dockyard_root) == []
    assert files_holding(step.marker, Path("/dev/shm")) == []
    assert processes_holding(step.marker) == []


def test_du_reclaimable_is_at_most_the_total(busybox_base: str, tmp_path: Path, dockyard_root: Path) -> None:
    """A build of a bare FROM: its step's record and the base image's chain record share one snapshot,
    which must be counted once. Coreutils ``du`` over the snapshots and blobs is the oracle."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\n")
    dockyard("build", "--progress", "quiet", str(ctx))
    out = dockyard("du", "--verbose").stdout
    sizes = {key: _bytes(value) for key, value in re.findall(r"^(Reclaimable|Total):\s+(\S+)$", out, re.M)}
    oracle = subprocess.run(["du", "-s", "-c", "-B1", str(dockyard_root / "snapshots"), str(dockyard_root / "content")],
                            capture_output=True, text=True, check=True).stdout.splitlines()[-1].split()[0]
    assert 0 < sizes["Reclaimable"] <= sizes["Total"], out
    assert sizes["Reclaimable"] <= int(oracle) * 1.01, out  # human() keeps 3 digits


def _bytes(text: str) -> float:
    found = re.fullmatch(r"([0-9.]+)([kMGT]?B)", text)
    assert found is not None, text
    return float(found.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[found.group(2)]

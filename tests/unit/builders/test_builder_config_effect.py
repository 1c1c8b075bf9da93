"""A builder's config reaches the build: max-parallelism bounds the solver, mirrors reach the registry side."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard import solver
from dockyard.builders.instances import current_builder
from tests.unit.builders.dockyard_cli import run


@dataclass(frozen=True)
class Step:
    key: str
    inputs: Sequence[Step] = ()

    @property
    def name(self) -> str:
        return self.key


class PeakWorker:
    """Runs every step for 0.15 s and records how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def cached(self, vertex: solver.Vertex) -> str | None:
        return None

    def run(self, vertex: solver.Vertex, inputs: Sequence[str], log: Callable[[str], None],
            cancelled: threading.Event) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.15)
        with self.lock:
            self.running -= 1
        return vertex.key


def _peak_for(builder_name: str) -> int:
    builder = current_builder(builder_name)
    worker = PeakWorker()
    solver.solve([Step(f"s{i}") for i in range(8)], worker, jobs=builder.jobs())
    return worker.peak


def test_max_parallelism_from_the_builder_config_bounds_the_solver(tmp_path: Path) -> None:
    for n in (1, 3, 5):
        cfg = tmp_path / f"p{n}.toml"
        cfg.write_text(f"[worker.oci]\nmax-parallelism = {n}\n")
        run("create", "--name", f"p{n}", "--config", str(cfg))
    assert [_peak_for(f"p{n}") for n in (1, 3, 5)] == [1, 3, 5]


def test_builder_in_use_supplies_its_registry_mirrors(tmp_path: Path) -> None:
    cfg = tmp_path / "m.toml"
    cfg.write_text('[registry."docker.io"]\nmirrors = ["127.0.0.1:5000"]\n[registry."127.0.0.1:5000"]\nhttp = true\n')
    run("create", "--name", "mirrored", "--use", "--config", str(cfg))
    builder = current_builder()
    assert builder.name == "mirrored"
    assert builder.registry("docker.io").mirrors == ("127.0.0.1:5000",)
    assert builder.registry("127.0.0.1:5000").http is True
    assert current_builder("default").registry("docker.io").mirrors == ()

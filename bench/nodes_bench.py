"""Bench: a two-platform build on two SSH nodes against the same build on one machine (issue 14).

Both run on this machine: the "nodes" are network namespaces (tests/rig/sshnodes.py) sharing its
2 cores and its qemu, so the arm64 node emulates just as the single machine does. What this
measures is therefore the cost of the remote path (ssh start, hello, bootstrap, context sync,
the node's own pushes, the client's index) and the effect of running the two platforms as two
processes, not the native-CPU win a real arm64 machine brings (which this machine cannot show).

    .venv/bin/python bench/nodes_bench.py [--rounds N]     # root; ~3-5 minutes with 3 rounds

Scenarios, each timed as the wall clock of the whole ``dockyard build --push`` command:
  cold   empty stores everywhere (the nodes' and the client's), base pulled, every step run
  warm   nothing changed: every step cached (on the nodes: the context manifest is still sent)
  edit1  one of 2,000 context files changed: one file sent, the COPY and the steps after it run
Rounds alternate the sides (one machine, nodes, one machine, ...). Results: bench/results/nodes.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rig import baseimage, sshnodes  # noqa: E402

from dockyard import localregistry  # noqa: E402

DOCKYARD = [sys.executable, "-m", "dockyard"]
DOCKERFILE = """FROM {base}
RUN i=0; while [ $i -lt 40000 ]; do i=$((i+1)); done; echo $i > /count
COPY src /src
RUN cat /src/* | md5sum > /sum
"""


def run(argv: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, timeout=900)
    took = time.monotonic() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{out.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dy-nodes-bench-"))
    farm = sshnodes.start_farm(work / "farm", 2)
    regs: list[localregistry.RunningRegistry] = []
    try:
        reg = localregistry.start(localregistry.RegistryConfig(
            port=localregistry.free_port(), storage=work / "reg", rundir=work / "regrun", host=farm.registry_address))
        regs.append(reg)
        tars = baseimage.rootfs_tarballs()
        config = work / "buildkitd.toml"
        config.write_text(f'[registry."{reg.address}"]\nhttp = true\n')
        xdg = work / "xdg"
        (xdg / "dockyard").mkdir(parents=True)
        (xdg / "dockyard" / "registries.toml").write_text(config.read_text())
        base = f"{reg.address}/busybox:latest"
        common = {"XDG_CONFIG_HOME": str(xdg), "DOCKER_CONFIG": str(work / "docker"),
                  "DOCKYARD_SSH_COMMAND": farm.ssh_command, "SOURCE_DATE_EPOCH": "1700000000"}
        run([*DOCKYARD, "imagetools", "import", "-t", base, "--platform", f"linux/amd64={tars['amd64']}",
             "--platform", f"linux/arm64={tars['arm64']}"], {**common, "DOCKYARD_ROOT": str(work / "import")})
        amd, arm = farm.hosts
        env = {**common, "DOCKYARD_ROOT": str(work / "client")}
        run([*DOCKYARD, "create", "--name", "one", "--config", str(config)], env)
        run([*DOCKYARD, "create", "--name", "farm", "--config", str(config), "--node", "amd", amd.endpoint,
             "--platform", "linux/amd64"], env)
        run([*DOCKYARD, "create", "--name", "farm", "--append", "--node", "arm", arm.endpoint,
             "--platform", "linux/arm64"], env)
        ctx = work / "ctx"
        (ctx / "src").mkdir(parents=True)
        (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
        for i in range(2000):
            (ctx / "src" / f"f{i:04d}").write_text(f"file {i}\n" * 50)

        def build(builder: str, tag: str) -> float:
            return run([*DOCKYARD, "--builder", builder, "build", "--progress", "quiet", "--platform",
                        "linux/amd64,linux/arm64", "--push", "-t", f"{reg.address}/bench:{tag}", str(ctx)], env)

        def wipe() -> None:
            for store in (work / "client" / "builders", amd.root, arm.root):
                shutil.rmtree(store, ignore_errors=True)

        times: dict[tuple[str, str], list[float]] = {}
        for round_no in range(args.rounds):
            for builder in ("one", "farm"):
                wipe()
                times.setdefault(("cold", builder), []).append(build(builder, f"c{round_no}"))
                times.setdefault(("warm", builder), []).append(build(builder, f"w{round_no}"))
                (ctx / "src" / "f0007").write_text(f"edit {round_no} {builder}\n")
                times.setdefault(("edit1", builder), []).append(build(builder, f"e{round_no}"))
        lines = ["# Two SSH nodes vs one machine (bench/nodes_bench.py)", "",
                 f"{args.rounds} rounds, median (min-max) seconds of `dockyard build --push` for linux/amd64 + "
                 "linux/arm64; both sides on this 2-core machine, arm64 emulated by qemu on both.", "",
                 "| scenario | one machine | two SSH nodes | nodes / one |", "|---|---|---|---|"]
        for scenario in ("cold", "warm", "edit1"):
            one, nodes = times[(scenario, "one")], times[(scenario, "farm")]
            ratio = statistics.median(n / o for n, o in zip(nodes, one, strict=True))
            lines.append(f"| {scenario} | {_fmt(one)} | {_fmt(nodes)} | {ratio:.2f} |")
        report = "\n".join(lines) + "\n"
        print(report)
        out = ROOT / "bench" / "results" / "nodes.md"
        kept = out.read_text().partition("\n\nAn earlier run")[2] if out.exists() else ""
        out.write_text(report + ("\n\nAn earlier run" + kept if kept else ""))  # the analysis below the table stays
    finally:
        for reg in regs:
            localregistry.stop_pid(reg.pid)
        farm.stop()
        shutil.rmtree(work, ignore_errors=True)


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()

"""Crash soak: kill -9 dockyard builds at random moments, then run one command; count what is left.

``python bench/crash_soak.py [--kills 30] [--max-delay 5] [--final build|prune|du] [--seed N]``
(root; not part of ``make test``). Starts a registry on 127.0.0.1 holding the busybox base, then
N times starts ``dockyard build --no-cache`` of a context whose steps write a 16 MB COPY layer,
hold a secret (``env=`` and a file) in a sleeping RUN, write 16 MB in another RUN and use a cache
mount, and kills the dockyard process with SIGKILL after a random delay (its runc children are
left alone, as after an OOM kill). Then it runs the final command once and counts, after each
kill (summed), before and after the final command: step containers of the killed pids, mounts
under the data root, ``run/`` entries, partial blobs and layers (``.ingest-*``, ``.layer-*``),
half-written snapshots (``snapshots/tmp-*``), /dev/shm entries of the killed pids, and files or
processes holding the secret's value (every file under the data root and /dev/shm, every
/proc/PID/environ and cmdline).

Measured 2026-11-29 (2 cores shared with other jobs), ``--kills 30 --seed 18``: 25 of the 30
builds were killed mid-build (5 had finished first). Summed over the kills, what each left until
the next command reclaimed it: 10 running step containers, 45 mounts, 29 ``run/`` entries, one
16.8 MB partial layer, 35 half-written snapshots, the secret's value in 28 files (all on the
steps' tmpfs mounts, none on disk) and in 10 process environments (the running containers).
After the final ``build``: 0 of each, ``du`` shows nothing in use (1,961 files and 5,079
process environments/command lines searched in all). With ``--final prune`` (seed 7, 30 kills):
0 left as well.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.rig import baseimage

from dockyard import localregistry


def _dockerfile(base: str) -> str:
    return (
        f"FROM {base}\n"
        "COPY big.bin /big.bin\n"
        "RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=tok sleep 2\n"
        "RUN --mount=type=cache,target=/cache dd if=/dev/urandom of=/cache/c bs=1M count=4 2>/dev/null"
        " && dd if=/dev/urandom of=/noise bs=1M count=16 2>/dev/null\n"
        "RUN echo done > /done\n"
    )


def _files_holding(marker: bytes, top: Path) -> tuple[int, int]:
    """(files searched, files holding ``marker``) under ``top``."""
    searched = hits = 0
    for dirpath, _dirs, files in os.walk(top):
        for name in files:
            try:
                with open(os.path.join(dirpath, name), "rb") as handle:
                    searched += 1
                    hits += marker in handle.read()
            except OSError:
                continue
    return searched, hits


def _processes_holding(marker: bytes) -> tuple[int, int]:
    searched = hits = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for what in ("environ", "cmdline"):
            try:
                data = Path(f"/proc/{pid}/{what}").read_bytes()
            except OSError:
                continue
            searched += 1
            hits += marker in data
    return searched, hits


def census(root: Path, killed: list[int], marker: bytes) -> dict[str, int]:
    """What the killed builds left, by kind."""
    listed = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=False).stdout.split()
    pids = {str(p) for p in killed}
    mounts = [line for line in Path("/proc/mounts").read_text().splitlines() if f" {root}/" in line]
    ingest = [p for d in (root / "content/blobs/sha256", root / "content/ingest") if d.is_dir()
              for p in d.iterdir() if p.name.startswith((".ingest-", ".layer-"))]
    shm = [p for p in Path("/dev/shm").iterdir() if any(f"-{pid}-" in p.name for pid in pids)]
    files = [_files_holding(marker, root), _files_holding(marker, Path("/dev/shm"))]
    procs = _processes_holding(marker)
    return {
        "containers": sum(1 for ident in listed if ident.startswith(tuple(f"dockyard-{pid}-" for pid in pids))),
        "mounts": len(mounts),
        "run_entries": len(list((root / "run").iterdir())) if (root / "run").is_dir() else 0,
        "ingest_files": len(ingest),
        "ingest_bytes": sum(p.stat().st_size for p in ingest if p.exists()),
        "tmp_snapshots": len([p for p in (root / "snapshots").iterdir() if p.name.startswith("tmp-")])
        if (root / "snapshots").is_dir() else 0,
        "shm_entries": len(shm),
        "secret_in_files": files[0][1] + files[1][1],
        "secret_in_processes": procs[1],
        "files_searched": files[0][0] + files[1][0],
        "processes_searched": procs[0],
    }


def main() -> int:  # noqa: PLR0915 - one soak scenario read top to bottom as a script
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--max-delay", type=float, default=5.0, help="kill within this many seconds of the start")
    parser.add_argument("--final", choices=("build", "prune", "du"), default="build")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.work or Path(tempfile.mkdtemp(prefix="dockyard-soak-", dir="/var/tmp"))
    root = work / "root"
    env = {**os.environ, "DOCKYARD_ROOT": str(root), "XDG_CONFIG_HOME": str(work / "xdg"),
           "DOCKER_CONFIG": str(work / "docker")}
    marker = f"soak-secret-{secrets.token_hex(8)}"
    (work / "token").write_text(marker)
    reg = localregistry.start(localregistry.RegistryConfig(
        port=localregistry.free_port(), storage=work / "registry", rundir=work / "registry-run"))
    try:
        layout = work / "busybox-layout"
        shutil.rmtree(layout, ignore_errors=True)
        baseimage.build_layout(layout)
        baseimage.push_layout(layout, "latest", f"{reg.address}/busybox:latest")
        ctx = work / "ctx"
        ctx.mkdir(exist_ok=True)
        (ctx / "Dockerfile").write_text(_dockerfile(f"{reg.address}/busybox:latest"))
        (ctx / "big.bin").write_bytes(os.urandom(16 << 20))
        build = [sys.executable, "-m", "dockyard", "build", "--progress", "plain", "--no-cache",
                 "--secret", f"id=tok,src={work / 'token'}", str(ctx)]
        killed: list[int] = []
        delays: list[float] = []
        left_by_kills: dict[str, int] = {}  # what each kill left, summed (the next build reclaims it)
        for _ in range(args.kills):
            delay = rng.uniform(0.2, args.max_delay)
            proc = subprocess.Popen(build, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.kill()
            proc.wait()
            if proc.returncode == -9:  # the build had not finished: a real kill
                killed.append(proc.pid)
                delays.append(round(delay, 2))
                for key, value in census(root, [proc.pid], marker.encode()).items():
                    left_by_kills[key] = left_by_kills.get(key, 0) + value
        before = census(root, killed, marker.encode())
        final = {"build": build, "prune": [sys.executable, "-m", "dockyard", "prune", "--all", "--force"],
                 "du": [sys.executable, "-m", "dockyard", "du"]}[args.final]
        t0 = time.monotonic()
        out = subprocess.run(final, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - t0
        after = census(root, killed, marker.encode())
        du = subprocess.run([sys.executable, "-m", "dockyard", "du"], env=env, capture_output=True, text=True,
                            check=False).stdout
        in_use = re.search(r"In use:\s+(\S+)", du)
        result = {"kills": len(killed), "delays": delays, "final": args.final, "final_exit": out.returncode,
                  "final_seconds": round(seconds, 1), "left_by_kills": left_by_kills, "before": before,
                  "after": after,
                  "du_in_use": in_use.group(1) if in_use else "0B"}
        print(json.dumps(result, indent=2))
        if out.returncode != 0:
            print(out.stderr[-2000:], file=sys.stderr)
        left = {k: v for k, v in after.items() if not k.endswith("_searched") and v}
        print(f"[soak] {len(killed)} kills, final {args.final} exit {out.returncode}: "
              f"{'nothing left' if not left else f'LEFT {left}'}", file=sys.stderr)
        return 0 if not left and out.returncode == 0 else 1
    finally:
        localregistry.stop_pid(reg.pid)
        if args.work is None:
            subprocess.run([sys.executable, "-m", "dockyard", "prune", "--all", "--force"], env=env,
                           capture_output=True, check=False)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

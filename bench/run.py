"""``make bench [QUICK=1]``: run every scenario side by side with its peer; write the results.

Writes bench/results/latest.json, latest.md (the table the README shows) and latest.png, and
updates the README's table between its bench markers. ``--quick`` writes quick.* instead and
leaves the README alone, so a quick run never overwrites the committed full results.
Starts its own registries on 127.0.0.1 with temporary storage (one holding the busybox
base, one emptied before every push); all traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import RunFailed, machine, measure
from report import update_readme, write_markdown, write_plots
from scenarios import Env, PushRegistry, all_scenarios
from tests.rig import baseimage

from dockyard import localregistry

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parents[1] / "README.md"


def render(doc: dict[str, object], out: str) -> None:
    """Write ``out``.md and ``out``.png; a complete run named latest also updates the README."""
    write_markdown(doc, RESULTS / f"{out}.md")
    write_plots(doc, RESULTS / f"{out}.png")
    if out == "latest" and not doc.get("only"):
        update_readme(README, (RESULTS / f"{out}.md").read_text(), image=f"bench/results/{out}.png")
    print((RESULTS / f"{out}.md").read_text())


def main() -> int:  # noqa: PLR0915 - the benchmark driver: argument handling and the run loop read as one script
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller inputs (< 3 minutes)")
    parser.add_argument("--only", action="append", help="run only these scenario keys")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--out", help="results name under bench/results (default: latest, or quick with --quick)")
    parser.add_argument("--runs", type=int, help="counted runs per side (default: 5, QUICK 1)")
    parser.add_argument("--merge", action="store_true",
                        help="with --only: replace those scenarios' entries in the existing results (marked rerun)")
    parser.add_argument("--render", type=Path, help="only re-render the table, plot (and README) from a results JSON")
    args = parser.parse_args()
    if args.render:
        render(json.loads(args.render.read_text()), args.render.stem)
        return 0
    runs = args.runs or (1 if args.quick else 5)
    warmup = 0 if args.quick else 1
    # Timed as installed (pip byte-compiles): with PYTHONDONTWRITEBYTECODE set, a module changed since
    # scripts/setup would otherwise be compiled from source in every timed run
    compileall.compile_dir(str(Path(localregistry.__file__).parent), quiet=1)
    out = args.out or ("quick" if args.quick else "latest")
    if args.only and not args.merge and not args.out:
        out = "only"  # a partial run never replaces the full results by accident
    work = args.work or Path(tempfile.mkdtemp(prefix="dockyard-bench-", dir="/var/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load_before = os.getloadavg()
    reg = localregistry.start(localregistry.RegistryConfig(
        port=localregistry.free_port(), storage=work / "registry", rundir=work / "registry-run"))
    push = PushRegistry(work)
    try:
        layout = work / "busybox-layout"
        shutil.rmtree(layout, ignore_errors=True)
        baseimage.build_layout(layout)
        baseimage.push_layout(layout, "latest", f"{reg.address}/busybox:latest")
        env = Env(registry=reg.address, work=work, quick=args.quick, push=push)
        results = []
        for scenario in all_scenarios(env):
            if args.only and scenario.key not in args.only:
                continue
            entry: dict[str, object] = {"key": scenario.key, "title": scenario.title, "note": scenario.note}
            if scenario.dockyard is None:
                entry.update(status="missing", missing=scenario.missing)
                results.append(entry)
                continue
            print(f"[bench] {scenario.key}: {scenario.title} ...", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            try:
                entry.update(measure(scenario, runs=runs, warmup=warmup))
                entry["status"] = "ok"
            except (RunFailed, subprocess.CalledProcessError) as exc:
                entry["status"] = "failed"
                detail = getattr(exc, "stderr", None)
                entry["error"] = str(exc) + (f": {detail.decode(errors='replace')[-300:]}" if detail else "")
            entry["wall"] = round(time.monotonic() - t0, 1)
            results.append(entry)
            print(f"[bench] {scenario.key}: {entry['status']} in {entry['wall']} s, ratios {entry.get('ratios')}"
                  f" floor {entry.get('floor_ratio')} {entry.get('error', '')}", file=sys.stderr, flush=True)
    finally:
        push.stop()
        localregistry.stop_pid(reg.pid)
    doc = {"machine": machine(), "quick": args.quick, "runs": runs, "warmup": warmup, "scenarios": results,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "load_average_before": load_before, "load_average_after": os.getloadavg(),
           "total_seconds": round(time.monotonic() - started, 1)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.only and args.merge and (RESULTS / f"{out}.json").exists():
        full = json.loads((RESULTS / f"{out}.json").read_text())
        fresh = {r["key"]: {**r, "rerun": doc["date"], "rerun_load_average": load_before} for r in results}
        full["scenarios"] = [fresh.pop(r["key"], r) for r in full["scenarios"]] + list(fresh.values())
        doc = full
    elif args.only:
        doc["only"] = args.only
    (RESULTS / f"{out}.json").write_text(json.dumps(doc, indent=2) + "\n")
    render(doc, out)
    if not args.work:
        subprocess.run(["buildah", "--root", str(work / "buildah" / "root"), "--runroot",
                        str(work / "buildah" / "run"), "--storage-driver", "overlay", "rmi", "--all", "--force"],
                       capture_output=True, check=False)
        subprocess.run(["umount", "-l", str(work / "buildah" / "root" / "overlay")], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"[bench] total {doc['total_seconds']} s", file=sys.stderr)
    return 1 if any(r.get("status") == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

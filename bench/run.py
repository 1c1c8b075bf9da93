"""``make bench [QUICK=1]``: run every scenario side by side with its peer; write the results.

Writes bench/results/latest.json, latest.md (the table the README shows) and PNG plots.
Starts its own registry on 127.0.0.1 with temporary storage and pushes the busybox base
there first; all traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import RunFailed, machine, measure
from report import write_markdown, write_plots
from scenarios import Env, all_scenarios
from tests.rig import baseimage

from dockyard import localregistry

RESULTS = Path(__file__).resolve().parent / "results"


def features() -> frozenset[str]:
    """Which dockyard features exist in this checkout (scenarios needing others say so)."""
    from dockyard.cli.main import VERBS

    found = set()
    if VERBS["build"].target is not None:
        found.add("plan")
    try:
        import dockyard.exporters
        found.add("build")
    except ImportError:
        pass
    try:
        import dockyard.oci.layer  # noqa: F401
        found.add("compress")
    except ImportError:
        pass
    return frozenset(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller inputs (< 3 minutes)")
    parser.add_argument("--only", action="append", help="run only these scenario keys")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    runs = 2 if args.quick else 5
    work = args.work or Path(tempfile.mkdtemp(prefix="dockyard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    reg = localregistry.start(localregistry.RegistryConfig(
        port=localregistry.free_port(), storage=work / "registry", rundir=work / "registry-run"))
    try:
        layout = work / "busybox-layout"
        shutil.rmtree(layout, ignore_errors=True)
        baseimage.build_layout(layout)
        baseimage.push_layout(layout, "latest", f"{reg.address}/busybox:latest")
        env = Env(registry=reg.address, work=work, quick=args.quick, features=features())
        results = []
        for scenario in all_scenarios(env):
            if args.only and scenario.key not in args.only:
                continue
            entry: dict[str, object] = {"key": scenario.key, "title": scenario.title, "missing": scenario.missing}
            if scenario.dockyard is None and args.quick:
                entry["status"] = "missing"
            else:
                print(f"[bench] {scenario.key}: {scenario.title} ...", file=sys.stderr, flush=True)
                t0 = time.monotonic()
                try:
                    entry.update(measure(scenario, runs=runs))
                    entry["status"] = "ok" if scenario.dockyard is not None else "missing"
                except RunFailed as exc:
                    entry["status"] = "failed"
                    entry["error"] = str(exc)
                entry["wall"] = round(time.monotonic() - t0, 1)
            results.append(entry)
            print(f"[bench] {scenario.key}: {entry.get('status')} {entry.get('ratio_median', '')}", file=sys.stderr)
    finally:
        localregistry.stop_pid(reg.pid)
    doc = {"machine": machine(), "quick": args.quick, "runs": runs, "scenarios": results,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(doc, indent=2) + "\n")
    write_markdown(doc, RESULTS / "latest.md")
    write_plots(doc, RESULTS)
    print((RESULTS / "latest.md").read_text())
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any(r.get("status") == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

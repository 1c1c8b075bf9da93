"""Start-up and round trips of warm builds: counts that survive a loaded machine (issue 17).

``python bench/startup_bench.py``. Starts a registry on 127.0.0.1 (access log on), imports the
busybox base for linux/amd64 and linux/arm64, then prints, for fresh ``dockyard`` processes:

- the modules a fully cached ``FROM scratch`` build imports (``-X importtime``), and whether
  httpx, rich, pygments or cryptography are among them;
- the registry requests of a cold and a warm two-platform build ``FROM`` that base;
- the requests of ``build --push`` to a new repository, then of the same push again.

Counts, not times: the machine this runs on is shared. Set PYTHONPATH to another checkout's
``src`` to count an older version (the bench harness itself imports only the test rig).

Measured 2026-11-29 (issue 17), session start (bee0c9f) -> after the issue 17 changes (registry
access log, so the failed HTTPS attempt of the ping is not counted): a fully cached FROM scratch
build imported 561 -> 360 modules (httpx, rich, pygments, cryptography: 127 -> 0); a warm
two-platform build FROM a registry base sent 5 -> 2 requests (4 manifest GETs -> 1 HEAD; main had
meanwhile added the lint's base config read, 7 requests, before the fix); ``build --push`` to a new
repository 26 -> 23, the same push again 15 -> 12. Later (a24a2ce: a blob up to one chunk goes in
its committing PUT, and one repository with one tag gets the index once, under the tag) 21 -> 18
and 12 -> 10.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.rig import baseimage

from dockyard import localregistry

_REQUEST = re.compile(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (/v2/[^ ?]*)[^ ]* HTTP')
_HEAVY = ("httpx", "rich", "pygments", "cryptography")


def _dockyard(*args: str, env: dict[str, str], importtime: bool = False) -> str:
    argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "dockyard", *args]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    if out.returncode != 0:
        raise SystemExit(f"dockyard {' '.join(args)} failed:\n{out.stderr}")
    return out.stderr


def _requests(log: Path, start: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for match in _REQUEST.finditer(log.read_bytes()[start:].decode(errors="replace")):
        path = re.sub(r"sha256:[0-9a-f]{64}", "<digest>", match.group(2))
        counts[f"{match.group(1)} {re.sub(r'/uploads/[^/]+', '/uploads/<id>', path)}"] += 1
    return counts


def _show(label: str, counts: Counter[str]) -> None:
    print(f"{label}: {sum(counts.values())} requests")
    for key, n in sorted(counts.items()):
        print(f"  {n:3d} {key}")


def _counted(log: Path, label: str, *args: str, env: dict[str, str]) -> None:
    start = log.stat().st_size
    _dockyard(*args, env=env)
    _show(label, _requests(log, start))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="dockyard-startup-bench-"))
    env = {**os.environ, "DOCKYARD_ROOT": str(work / "root"), "XDG_CONFIG_HOME": str(work / "xdg"),
           "DOCKER_CONFIG": str(work / "docker"), "SOURCE_DATE_EPOCH": "1700000000"}
    scratch = work / "scratch"
    scratch.mkdir()
    (scratch / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (scratch / "a").write_text("a\n")
    _dockyard("build", "--progress", "plain", str(scratch), env=env)
    lines = _dockyard("build", "--progress", "plain", str(scratch), env=env, importtime=True).splitlines()
    modules = {line.rsplit("|", 1)[1].strip() for line in lines
               if line.startswith("import time:") and "imported package" not in line}
    heavy = sorted(m for m in modules if m.split(".")[0] in _HEAVY)
    print(f"fully cached FROM scratch build: {len(modules)} modules imported, {len(heavy)} of {', '.join(_HEAVY)}")

    registry = localregistry.start(localregistry.RegistryConfig(
        port=localregistry.free_port(), storage=work / "storage", rundir=work, accesslog=True))
    try:
        tars = baseimage.rootfs_tarballs()
        base = f"{registry.address}/busybox:latest"
        _dockyard("imagetools", "import", "-t", base, "--platform", f"linux/amd64={tars['amd64']}",
                  "--platform", f"linux/arm64={tars['arm64']}", env=env)
        context = work / "ctx"
        context.mkdir()
        (context / "Dockerfile").write_text(f"FROM {base}\nCOPY big /big\n")
        (context / "big").write_bytes(os.urandom(8 << 20))
        build = ("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64")
        _counted(registry.log, "cold two-platform build", *build, str(context), env=env)
        _counted(registry.log, "warm two-platform build", *build, str(context), env=env)
        push = (*build, "--push", "-t", f"{registry.address}/app:1", str(context))
        _counted(registry.log, "warm build --push to a new repository", *push, env=env)
        _counted(registry.log, "the same push again", *push, env=env)
    finally:
        localregistry.stop_pid(registry.pid)


if __name__ == "__main__":
    main()

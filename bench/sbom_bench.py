"""SBOM cataloguing speed: dockyard's catalogers over the Debian test rootfs layers (.cache/debian).

Each rootfs tarball (~170-200 MB, ~10,000 entries: Debian 12 essential + python3-pip) is one
layer; the catalogers stream it once (dpkg status, Python metadata, npm, Go build info of every
executable). Floors: Python's tarfile walking the same stream without reading file data, and
``cat`` of the file. Prints median seconds of 5 runs and the process's peak RSS.

    .venv/bin/python bench/sbom_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO

from dockyard.attest.catalog import catalog

ROOT = Path(__file__).resolve().parents[1]


def _opener(path: Path) -> Callable[[], contextlib.AbstractContextManager[IO[bytes]]]:
    @contextlib.contextmanager
    def opened() -> Iterator[IO[bytes]]:
        with open(path, "rb") as f:
            yield f

    return opened


def _walk(path: Path) -> int:
    with open(path, "rb") as f, tarfile.open(fileobj=f, mode="r|") as tar:
        return sum(1 for _ in tar)


def _time(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for arch in ("amd64", "arm64"):
        tar = ROOT / ".cache" / "debian" / f"rootfs-{arch}.tar"
        found = catalog([_opener(tar)])
        kinds: dict[str, int] = {}
        for p in found.packages:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        size = tar.stat().st_size / 1e6
        dockyard = _time(partial(catalog, [_opener(tar)]), args.runs)
        walk = _time(partial(_walk, tar), args.runs)
        cat = _time(partial(subprocess.run, ["cat", str(tar)], stdout=subprocess.DEVNULL, check=True), args.runs)
        print(f"{arch}: {size:.0f} MB, packages {kinds}; catalog {dockyard:.2f} s, "
              f"tarfile walk {walk:.2f} s, cat {cat:.2f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

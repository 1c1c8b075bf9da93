"""COPY of many small files: dockyard's copy_into against ``cp -a``, on the same disk.

``python bench/copy_small_files.py [--files 50000] [--size 100] [--overlay]``. Makes a context
of N files of SIZE bytes in 100 directories, then times (best of 3 interleaved rounds, fresh
destination each time) ``cp -a ctx/. dst/`` and ``copy_into(COPY . /dst/)``. With ``--overlay`` (root) the
destination is an overlay mount, as in a build, where every write lands in the upper dir.
DESIGN.md's reference point: buildah's COPY of 50,000 small files takes ~37 s.

Measured 2026-11-23 (2 cores, load 5-11 from other jobs, so wall times are noisy):
50,000 x 100 B on tmpfs: cp -a 5.1 s wall / 1.5 s CPU, copy_into 5.8 s wall / 2.0 s CPU
(0.35 s of it interpreter start); 10,000 on tmpfs: 0.35 s vs 0.41 s; 50,000 on the shared
ext4 disk: 19 s vs 39 s; 10,000 into an overlay mount: 4.4 s vs 5.4 s. A 4-thread pool for
file copies was tried and was slower on tmpfs (3x cp), so the copy stays serial.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dockyard.engine.copy import CopySpec, copy_into


def make_context(root: Path, files: int, size: int) -> None:
    """N files of SIZE bytes in 100 directories (also used by context_hash.py)."""
    data = b"x" * size
    for i in range(files):
        directory = root / f"d{i % 100:02d}"
        if i < 100:
            directory.mkdir(parents=True)
        (directory / f"f{i:06d}.txt").write_bytes(data)


def _dest(work: Path, name: str, overlay: bool) -> tuple[Path, Callable[[], None]]:
    base = work / name
    if not overlay:
        base.mkdir()
        return base, lambda: shutil.rmtree(base)
    for sub in ("lower", "upper", "work", "merged"):
        (base / sub).mkdir(parents=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work", str(base / "merged")],
                   check=True)

    def cleanup() -> None:
        subprocess.run(["umount", str(base / "merged")], check=True)
        shutil.rmtree(base)

    return base / "merged", cleanup


def _best(work: Path, label: str, overlay: bool, run: Callable[[Path], None], tries: int) -> float:
    times = []
    for attempt in range(tries):
        dest, cleanup = _dest(work, f"{label}-{attempt}", overlay)
        subprocess.run(["sync"], check=True)
        start = time.perf_counter()
        run(dest)
        times.append(time.perf_counter() - start)
        cleanup()
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--overlay", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp", help="where the context and destinations live")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-copybench-", dir=args.dir) as tmp:
        work = Path(tmp)
        ctx = work / "ctx"
        make_context(ctx, args.files, args.size)

        def cp(dest: Path) -> None:
            subprocess.run(["cp", "-a", f"{ctx}/.", f"{dest}/"], check=True)

        def ours(dest: Path) -> None:
            copy_into(source_root=ctx, dest_root=dest, spec=CopySpec(paths=(".",), dest="/app/"))

        # interleaved, so a busy shared disk hurts both sides alike
        cp_times, ours_times = [], []
        for _ in range(args.rounds):
            cp_times.append(_best(work, "cp", args.overlay, cp, 1))
            ours_times.append(_best(work, "ours", args.overlay, ours, 1))
        cp_s, ours_s = min(cp_times), min(ours_times)
        where = "overlay mount" if args.overlay else os.path.realpath(tmp)
        print(f"{args.files} files of {args.size} B into {where}:")
        print(f"  cp -a        {cp_s:6.2f} s  {args.files / cp_s:9.0f} files/s")
        print(f"  copy_into    {ours_s:6.2f} s  {args.files / ours_s:9.0f} files/s  ({ours_s / cp_s:.2f}x cp)")


if __name__ == "__main__":
    main()

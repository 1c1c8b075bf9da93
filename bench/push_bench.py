"""Push benchmark: dockyard vs ``skopeo copy --all`` of the same ~100 MB two-platform OCI layout.

Each run starts an empty registry (the embedded CNCF Distribution registry on 127.0.0.1), pushes
the layout, and stops it; dockyard and skopeo runs alternate so drift hits both alike. Both run
as fresh processes (interpreter and binary start included). Then it measures the peak RSS of a
dockyard process pushing a single 1 GiB blob (goal: under 150 MB).

    .venv/bin/python bench/push_bench.py [--runs 5] [--size-mb 100] [--rss-gib 1] [--skip-rss]

This is a script, not a test: it prints figures and the median ratio dockyard/skopeo.
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

from dockyard import localregistry
from dockyard.digest import Digest
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.layout import OciLayout

PUSH_ONE = """
import sys
from pathlib import Path
from dockyard.store.layout import OciLayout
from dockyard.registry import Client
layout = OciLayout.open(Path(sys.argv[1]))
desc = layout.resolve(sys.argv[3] if len(sys.argv) > 3 else None)
with Client() as client:
    client.push(sys.argv[2], desc, layout.store)
"""


def _random_blob(layout: OciLayout, size: int) -> Descriptor:
    """Incompressible bytes, written in 8 MiB pieces (as a layer would be: gzip output is random-looking)."""
    with layout.store.writer() as w:
        left = size
        while left > 0:
            piece = os.urandom(min(8 << 20, left))
            w.write(piece)
            left -= len(piece)
        blob = w.commit()
    return Descriptor(mediatypes.OCI_LAYER_GZIP, blob.digest, blob.size)


def make_layout(root: Path, *, total_mb: int, layers_per_platform: int = 3) -> None:
    """A two-platform index whose layers add up to ``total_mb`` MB, tagged ``bench``."""
    layout = OciLayout.create(root)
    per_layer = total_mb * 1_000_000 // (2 * layers_per_platform)
    entries = []
    for plat in (Platform.parse("linux/amd64"), Platform.parse("linux/arm64")):
        layers = tuple(_random_blob(layout, per_layer) for _ in range(layers_per_platform))
        config = ImageConfig.for_platform(plat, created="2024-01-01T00:00:00Z",
                                          diff_ids=tuple(Digest.of_bytes(str(d.digest).encode()) for d in layers))
        cblob = layout.store.ingest_bytes(config.to_bytes())
        manifest = Manifest(config=Descriptor(mediatypes.OCI_CONFIG, cblob.digest, cblob.size), layers=layers)
        mblob = layout.store.ingest_bytes(manifest.to_bytes())
        entries.append(Descriptor(mediatypes.OCI_MANIFEST, mblob.digest, mblob.size, plat))
    data = Index(manifests=tuple(entries)).to_bytes()
    blob = layout.store.ingest_bytes(data)
    layout.add(Descriptor(mediatypes.OCI_INDEX, blob.digest, blob.size), tag="bench")


def _registry(work: Path) -> localregistry.RunningRegistry:
    storage = work / f"storage-{time.monotonic_ns()}"
    return localregistry.start(localregistry.RegistryConfig(port=localregistry.free_port(), storage=storage,
                                                             rundir=work))


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def push_bench(layout: Path, work: Path, runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(runs * 2):
        reg = _registry(work)
        try:
            ref = f"{reg.address}/bench/app:v1"
            if i % 2 == 0:
                ours.append(_timed([sys.executable, "-c", PUSH_ONE, str(layout), ref, "bench"], env))
            else:
                theirs.append(_timed(["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false",
                                      f"oci:{layout}:bench", f"docker://{ref}"], env))
        finally:
            localregistry.stop_pid(reg.pid)
            shutil.rmtree(reg.storage, ignore_errors=True)
    return ours, theirs


def rss_bench(work: Path, gib: float, env: dict[str, str]) -> tuple[float, float]:
    """Peak RSS (MB) and seconds of a dockyard process pushing one blob of ``gib`` GiB."""
    root = work / "big"
    layout = OciLayout.create(root)
    layer = _random_blob(layout, int(gib * (1 << 30)))
    config = ImageConfig.for_platform(Platform.parse("linux/amd64"), diff_ids=(layer.digest,))
    cblob = layout.store.ingest_bytes(config.to_bytes())
    manifest = Manifest(config=Descriptor(mediatypes.OCI_CONFIG, cblob.digest, cblob.size), layers=(layer,))
    mblob = layout.store.ingest_bytes(manifest.to_bytes())
    layout.add(Descriptor(mediatypes.OCI_MANIFEST, mblob.digest, mblob.size), tag="big")
    reg = _registry(work)
    try:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", PUSH_ONE, str(root), f"{reg.address}/big/blob:v1", "big"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        if status != 0:
            raise SystemExit(f"1 GiB push failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    finally:
        localregistry.stop_pid(reg.pid)
        shutil.rmtree(reg.storage, ignore_errors=True)
    return usage.ru_maxrss / 1024, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--rss-gib", type=float, default=1.0)
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dockyard-push-bench-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "DOCKYARD_ROOT": str(work / "root"), "DOCKER_CONFIG": str(work / "docker"),
               "XDG_CONFIG_HOME": str(work / "xdg")}
        make_layout(work / "layout", total_mb=args.size_mb)
        ours, theirs = push_bench(work / "layout", work, args.runs, env)
        ratio = statistics.median(o / t for o, t in zip(ours, theirs, strict=True))
        print(f"push of a {args.size_mb} MB two-platform layout to an empty registry ({args.runs} runs each):")
        print(f"  dockyard  median {statistics.median(ours):.2f}s  runs {' '.join(f'{x:.2f}' for x in ours)}")
        print(f"  skopeo    median {statistics.median(theirs):.2f}s  runs {' '.join(f'{x:.2f}' for x in theirs)}")
        print(f"  median ratio dockyard/skopeo: {ratio:.2f}")
        if not args.skip_rss:
            rss, secs = rss_bench(work, args.rss_gib, env)
            print(f"push of a {args.rss_gib:g} GiB blob: peak RSS {rss:.0f} MB (goal < 150 MB), {secs:.1f}s, "
                  f"{args.rss_gib * 1024 / secs:.0f} MiB/s")


if __name__ == "__main__":
    main()

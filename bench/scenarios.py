"""The benchmark scenarios: what is built or pushed, by dockyard and by its peer, from what state.

Every scenario names the dockyard feature it needs; while that feature is missing the
scenario says so in the results instead of disappearing. Contexts are generated
deterministically under the bench work directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import Scenario, Side

PLATFORMS = "linux/amd64,linux/arm64"
BUILDAH = ["buildah", "build", "--layers", "--tls-verify=false", "--runtime", "runc", "--quiet"]
DOCKYARD = [sys.executable, "-m", "dockyard"]


@dataclass(frozen=True)
class Env:
    """Where scenarios run: the registry they push to, a work dir, and the size of the run."""

    registry: str
    work: Path
    quick: bool
    features: frozenset[str]  # dockyard features present: "build", "push", "compress", "plan"


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def _quiet(*argv: str) -> None:
    subprocess.run(argv, check=False, capture_output=True)


def peer_context(env: Env) -> Path:
    """The Dockerfile and context of shared/tools/peer-buildah-bench.sh: 500 small files, 50 MB blob."""
    ctx = env.work / "ctx-peer"
    if (ctx / ".complete").exists():
        return ctx
    (ctx / "src").mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(
        f"FROM {env.registry}/busybox:latest\n"
        "ARG TARGETARCH\n"
        'RUN echo "built for $TARGETARCH" > /arch.txt && uname -m >> /arch.txt\n'
        "COPY src/ /app/\n"
        "RUN sh -c 'for i in $(seq 1 200); do echo line$i >> /app/gen.txt; done'\n"
        "ENV APP_MODE=prod\n"
        "WORKDIR /app\n"
        'CMD ["sh","-c","cat /arch.txt"]\n'
    )
    for i in range(1, 501):
        (ctx / "src" / f"file{i}.txt").write_text(f"small file {i}\n")
    with open(ctx / "src" / "big.bin", "wb") as f:
        f.write(os.urandom(50 * 2**20))
    (ctx / ".dockerignore").write_text(".complete\n")
    (ctx / ".complete").touch()
    return ctx


def _buildah_reset(list_name: str, *, wipe: bool) -> None:
    _quiet("buildah", "manifest", "rm", list_name)
    if wipe:
        _quiet("buildah", "rm", "--all")
        _quiet("buildah", "rmi", "--all", "--force")


def two_platform(env: Env) -> list[Scenario]:
    ctx = peer_context(env)
    lst = "dockyard-bench-list"
    peer_cmd = [*BUILDAH, "--platform", PLATFORMS, "--manifest", lst, "-f", str(ctx / "Dockerfile"), str(ctx)]
    ours = "build" in env.features
    dy_root = env.work / "dockyard-root"

    def dy(label: str, *, wipe: bool, edit: bool = False) -> Side | None:
        if not ours:
            return None

        def reset() -> None:
            if wipe:
                shutil.rmtree(dy_root, ignore_errors=True)
            if edit:
                _edit_one(ctx)

        return Side(label, [*DOCKYARD, "build", "--progress", "quiet", "--platform", PLATFORMS, str(ctx)],
                    reset=reset, env={"DOCKYARD_ROOT": str(dy_root)})

    def edit_reset() -> None:
        _edit_one(ctx)
        _buildah_reset(lst, wipe=False)

    missing = "" if ours else "dockyard build (issue 5/6) not merged yet"
    return [
        Scenario("cold2", "cold two-platform build", dockyard=dy("dockyard", wipe=True),
                 peer=Side("buildah", peer_cmd, reset=lambda: _buildah_reset(lst, wipe=True)), missing=missing),
        Scenario("warm2", "warm rebuild, nothing changed", dockyard=dy("dockyard", wipe=False),
                 peer=Side("buildah", peer_cmd, reset=lambda: _buildah_reset(lst, wipe=False)), missing=missing),
        Scenario("edit1", "rebuild after one changed context file", dockyard=dy("dockyard", wipe=False, edit=True),
                 peer=Side("buildah", peer_cmd, reset=edit_reset), missing=missing),
    ]


def _edit_one(ctx: Path) -> None:
    target = ctx / "src" / "file1.txt"
    target.write_text(target.read_text() + "edit\n")


def run_steps(env: Env) -> Scenario:
    """20 trivial RUN steps, single platform, no cache; the floor is 20 bare ``runc run true``."""
    ctx = env.work / "ctx-steps"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(f"FROM {env.registry}/busybox:latest\n" + "RUN true\n" * 20)
    bundle = env.work / "runc-bundle"
    floor_script = env.work / "runc-floor.sh"

    def prepare() -> None:
        if not (bundle / "config.json").exists():
            oci = env.work / "busybox-oci"
            shutil.rmtree(oci, ignore_errors=True)
            _sh("skopeo", "copy", "-q", "--src-tls-verify=false", "--override-arch", "amd64",
                f"docker://{env.registry}/busybox:latest", f"oci:{oci}:img")
            _sh("umoci", "unpack", "--image", f"{oci}:img", str(bundle))
            import json

            cfg = json.loads((bundle / "config.json").read_text())
            cfg["process"]["args"], cfg["process"]["terminal"] = ["true"], False
            (bundle / "config.json").write_text(json.dumps(cfg))
        floor_script.write_text(f"for i in $(seq 20); do runc run -b {bundle} dy-floor-$$-$i || exit 1; done\n")

    dy = None
    if "build" in env.features:
        dy = Side("dockyard", [*DOCKYARD, "build", "--progress", "quiet", "--no-cache", "--platform", "linux/amd64",
                               str(ctx)], env={"DOCKYARD_ROOT": str(env.work / "dockyard-root-steps")})
    return Scenario("steps20", "20 trivial RUN steps (no cache), single platform", dockyard=dy,
                    peer=Side("buildah", [*BUILDAH, "--no-cache", "--platform", "linux/amd64", str(ctx)]),
                    floor=Side("runc run true x20", ["bash", str(floor_script)]), prepare=prepare,
                    missing="" if dy else "dockyard build (issue 5) not merged yet")


def compress(env: Env) -> Scenario:
    """gzip of a big layer tar: dockyard's compressor vs pigz (all cores); single-thread isal as floor."""
    size = (256 if env.quick else 1024) * 2**20
    tar = env.work / f"layer-{size >> 20}m.tar"

    def prepare() -> None:
        if not tar.exists():
            src = env.work / "usr-copy"
            # compressible, realistic content: the system's /usr, repeated to the target size
            with open(tar, "wb") as out:
                while out.tell() < size:
                    data = subprocess.run(["tar", "-cf", "-", "-C", "/usr", "lib/python3", "share/doc"],
                                          capture_output=True, check=False).stdout
                    out.write(data[: size - out.tell()])
            shutil.rmtree(src, ignore_errors=True)

    dy = None
    if "compress" in env.features:
        dy = Side("dockyard", [sys.executable, "-m", "dockyard.oci.layer", "--bench-gzip", str(tar)])
    isal_single = Side("isal 1 thread", ["bash", "-c", f"{sys.executable} -m isal.igzip -1 -c {tar} >/dev/null"])
    return Scenario("gzip", f"gzip of a {size >> 20} MiB layer tar", dockyard=dy,
                    peer=Side("pigz", ["bash", "-c", f"pigz -1 -p {os.cpu_count()} -c {tar} >/dev/null"]),
                    floor=isal_single, prepare=prepare,
                    missing="" if dy else "dockyard layer compressor (issue 5) not merged yet")


def all_scenarios(env: Env) -> list[Scenario]:
    return [*two_platform(env), run_steps(env), compress(env)]

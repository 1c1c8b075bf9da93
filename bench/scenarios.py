"""The benchmark scenarios: what is built or pushed, by dockyard and by its peers, from what state.

Contexts are generated deterministically under the bench work directory. dockyard runs with
its own DOCKYARD_ROOT (a fresh one where the scenario is cold), XDG_CONFIG_HOME and
DOCKER_CONFIG, so nothing of the machine's state leaks in; buildah runs on a private storage
root (``--root``/``--runroot``), so the machine's containers storage is never touched.
Pushes go to a registry restarted with empty storage before every push (untimed), so no
side profits from blobs another side left there (cross-repository mounts).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness import Scenario, Side

from dockyard import localregistry

PLATFORMS = "linux/amd64,linux/arm64"
DOCKYARD = [sys.executable, "-m", "dockyard"]
BENCH = Path(__file__).resolve().parent


@dataclass
class PushRegistry:
    """A registry on a fixed loopback port whose storage is emptied before every push."""

    work: Path
    port: int = field(default_factory=localregistry.free_port)
    pid: int | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.stop()
        storage = self.work / "push-registry"
        shutil.rmtree(storage, ignore_errors=True)
        reg = localregistry.start(localregistry.RegistryConfig(port=self.port, storage=storage,
                                                               rundir=self.work / "push-registry-run"))
        self.pid = reg.pid

    def stop(self) -> None:
        if self.pid is not None:
            localregistry.stop_pid(self.pid)
            self.pid = None


@dataclass
class Env:
    """Where scenarios run: the registry holding the base, a work dir, and the size of the run."""

    registry: str
    work: Path
    quick: bool
    push: PushRegistry

    @property
    def buildah(self) -> list[str]:
        """buildah with a private storage root under the work directory."""
        return ["buildah", "--root", str(self.work / "buildah" / "root"), "--runroot",
                str(self.work / "buildah" / "run"), "--storage-driver", "overlay"]

    @property
    def buildah_build(self) -> list[str]:
        return [*self.buildah, "build", "--layers", "--tls-verify=false", "--runtime", "runc", "--quiet"]

    def dockyard_env(self, root: str) -> dict[str, str]:
        return {"DOCKYARD_ROOT": str(self.work / root), "XDG_CONFIG_HOME": str(self.work / "xdg"),
                "DOCKER_CONFIG": str(self.work / "docker-config")}

    def wipe_buildah(self) -> None:
        _quiet(*self.buildah, "rm", "--all")
        _quiet(*self.buildah, "rmi", "--all", "--force")


def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def _quiet(*argv: str) -> None:
    subprocess.run(argv, check=False, capture_output=True)


def _random_file(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    with open(path, "wb") as f:
        left = size
        while left:
            piece = os.urandom(min(8 << 20, left))
            f.write(piece)
            left -= len(piece)


def _seq(*steps: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        for step in steps:
            step()
    return run


# ------------------------------------------------------------------ the peer's two-platform build


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
    _random_file(ctx / "src" / "big.bin", 50 * 2**20)
    (ctx / ".dockerignore").write_text(".complete\n")
    (ctx / ".complete").touch()
    return ctx


def _edit_one(ctx: Path) -> None:
    target = ctx / "src" / "file1.txt"
    target.write_text(target.read_text() + "edit\n")


def two_platform(env: Env) -> list[Scenario]:
    ctx = peer_context(env)
    lst = "dockyard-bench-list"
    peer_cmd = [*env.buildah_build, "--platform", PLATFORMS, "--manifest", lst, "-f", str(ctx / "Dockerfile"),
                str(ctx)]
    dy_env = env.dockyard_env("root-two")
    dy_root = Path(dy_env["DOCKYARD_ROOT"])
    dy_build = [*DOCKYARD, "build", "--progress", "quiet", "--platform", PLATFORMS]
    layout = env.work / "two-platform-oci"

    def rm_list() -> None:
        _quiet(*env.buildah, "manifest", "rm", lst)

    def wipe_dy() -> None:
        shutil.rmtree(dy_root, ignore_errors=True)

    def export_layout() -> None:
        shutil.rmtree(layout, ignore_errors=True)
        _sh(*_env_prefix(dy_env), *dy_build, "-o", f"type=oci,dest={layout},tar=false", str(ctx))

    push_ref = f"{env.push.address}/app:1.0"
    return [
        Scenario("cold2", "cold two-platform build",
                 dockyard=Side("dockyard", [*dy_build, str(ctx)], reset=wipe_dy, env=dy_env),
                 peers=(Side("buildah", peer_cmd, reset=_seq(rm_list, env.wipe_buildah)),)),
        Scenario("warm2", "warm rebuild, nothing changed",
                 dockyard=Side("dockyard", [*dy_build, str(ctx)], env=dy_env),
                 peers=(Side("buildah", peer_cmd, reset=rm_list),)),
        Scenario("edit1", "rebuild after one changed context file",
                 dockyard=Side("dockyard", [*dy_build, str(ctx)], reset=lambda: _edit_one(ctx), env=dy_env),
                 peers=(Side("buildah", peer_cmd, reset=_seq(lambda: _edit_one(ctx), rm_list)),)),
        Scenario("push2", "push of the two-platform result to an empty registry",
                 dockyard=Side("dockyard", [*dy_build, "-t", push_ref, "--push", str(ctx)], reset=env.push.reset,
                               env=dy_env),
                 peers=(Side("buildah", [*env.buildah, "manifest", "push", "--all", "--quiet", "--tls-verify=false",
                                         lst, f"docker://{push_ref}"], reset=env.push.reset),
                        Side("skopeo", ["skopeo", "copy", "--all", "--quiet", "--dest-tls-verify=false",
                                        f"oci:{layout}", f"docker://{push_ref}"], reset=env.push.reset)),
                 prepare=_seq(export_layout, lambda: _sh(*peer_cmd)),
                 note="dockyard: `build --push` on its warm cache (the build check is included); "
                      "skopeo: copy --all of the OCI layout dockyard exported from the same build"),
        Scenario("dryrun", "--dry-run of that two-platform Dockerfile (parse, plan, cache keys; a build ran before)",
                 dockyard=Side("dockyard", [*DOCKYARD, "build", "--dry-run", "--platform", PLATFORMS, str(ctx)],
                               env=dy_env),
                 floor=Side("python -c pass", [sys.executable, "-c", "pass"]),
                 prepare=lambda: _sh(*_env_prefix(dy_env), *dy_build, str(ctx)),
                 note="absolute target 0.08 s; the floor is the interpreter starting and exiting; buildah has no "
                      "dry run"),
    ]


def one_platform(env: Env) -> list[Scenario]:
    """The same Dockerfile and context for linux/amd64 only: issue 5's single-platform cold and warm builds."""
    ctx = peer_context(env)
    peer_cmd = [*env.buildah_build, "--platform", "linux/amd64", "-t", "dockyard-bench-one",
                "-f", str(ctx / "Dockerfile"), str(ctx)]
    dy_env = env.dockyard_env("root-one")
    dy_root = Path(dy_env["DOCKYARD_ROOT"])
    dy_build = [*DOCKYARD, "build", "--progress", "quiet", "--platform", "linux/amd64", str(ctx)]
    return [
        Scenario("cold1", "cold single-platform build (linux/amd64)",
                 dockyard=Side("dockyard", dy_build, reset=lambda: shutil.rmtree(dy_root, ignore_errors=True),
                               env=dy_env),
                 peers=(Side("buildah", peer_cmd, reset=env.wipe_buildah),)),
        Scenario("warm1", "warm single-platform rebuild, nothing changed",
                 dockyard=Side("dockyard", dy_build, env=dy_env),
                 peers=(Side("buildah", peer_cmd),)),
    ]


def trivial(env: Env) -> Scenario:
    """Issue 17's absolute start-up target: a fully cached two-line build (FROM and one RUN)."""
    ctx = env.work / "ctx-trivial"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(f"FROM {env.registry}/busybox:latest\nRUN echo hi > /hi\n")
    dy_env = env.dockyard_env("root-trivial")
    dy_build = [*DOCKYARD, "build", "--progress", "quiet", "--platform", "linux/amd64", str(ctx)]
    peer_cmd = [*env.buildah_build, "--platform", "linux/amd64", "-t", "dockyard-bench-trivial", str(ctx)]
    return Scenario("warm0", "warm rebuild of a two-line Dockerfile (FROM, RUN), nothing changed",
                    dockyard=Side("dockyard", dy_build, env=dy_env), peers=(Side("buildah", peer_cmd),),
                    prepare=_seq(lambda: _sh(*_env_prefix(dy_env), *dy_build), lambda: _sh(*peer_cmd)),
                    note="absolute target 0.15 s: the time a CLI start, the base's HEAD and a cache lookup take")


def _env_prefix(env: dict[str, str]) -> list[str]:
    """``env K=V ... `` prefix for running dockyard outside the harness (prepare steps)."""
    return ["env", *(f"{k}={v}" for k, v in env.items())]


# ------------------------------------------------------------------ per-step overhead


def run_steps(env: Env) -> Scenario:
    """N trivial RUN steps, single platform, no cache; the floor is N bare ``runc run true``."""
    steps = 20
    ctx = env.work / "ctx-steps"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(f"FROM {env.registry}/busybox:latest\n" + "RUN true\n" * steps)
    bundle = env.work / "runc-bundle"
    floor_script = env.work / "runc-floor.sh"

    def prepare() -> None:
        if not (bundle / "config.json").exists():
            oci = env.work / "busybox-oci"
            shutil.rmtree(oci, ignore_errors=True)
            _sh("skopeo", "copy", "-q", "--src-tls-verify=false", "--override-arch", "amd64",
                f"docker://{env.registry}/busybox:latest", f"oci:{oci}:img")
            _sh("umoci", "unpack", "--image", f"{oci}:img", str(bundle))
            cfg = json.loads((bundle / "config.json").read_text())
            cfg["process"]["args"], cfg["process"]["terminal"] = ["true"], False
            (bundle / "config.json").write_text(json.dumps(cfg))
        floor_script.write_text(f"for i in $(seq {steps}); do runc run -b {bundle} dy-floor-$$-$i || exit 1; done\n")

    dy = Side("dockyard", [*DOCKYARD, "build", "--progress", "quiet", "--no-cache", "--platform", "linux/amd64",
                           str(ctx)], env=env.dockyard_env("root-steps"))
    return Scenario("steps20", f"{steps} trivial RUN steps (no cache), single platform", dockyard=dy,
                    peers=(Side("buildah", [*env.buildah_build, "--no-cache", "--platform", "linux/amd64",
                                            str(ctx)]),),
                    floor=Side(f"runc run true x{steps}", ["bash", str(floor_script)]), prepare=prepare,
                    note=f"per step: divide by {steps}")


# ------------------------------------------------------------------ a big random layer


def big_layer(env: Env) -> list[Scenario]:
    """A 1 GiB (QUICK: 128 MiB) random-content file COPY'd into one layer, built and pushed; then its gzip."""
    mib = 128 if env.quick else 1024
    ctx = env.work / f"ctx-big-{mib}"
    ctx.mkdir(parents=True, exist_ok=True)
    (ctx / "Dockerfile").write_text(f"FROM {env.registry}/busybox:latest\nCOPY big.bin /big.bin\n")
    (ctx / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    ref = f"{env.push.address}/big:1"
    dy_env = env.dockyard_env("root-big")
    dy_root = Path(dy_env["DOCKYARD_ROOT"])
    dy_push = [*DOCKYARD, "build", "--progress", "quiet", "--platform", "linux/amd64", "-t", ref, "--push", str(ctx)]
    bh_build = [*env.buildah_build, "--platform", "linux/amd64", "-t", ref, str(ctx)]
    bh_push = [*env.buildah, "push", "--quiet", "--tls-verify=false", ref, f"docker://{ref}"]
    layout = env.work / f"big-{mib}-oci"
    tar = env.work / f"layer-{mib}m.tar"

    def make_input() -> None:
        _random_file(ctx / "big.bin", mib * 2**20)

    def export_layout() -> None:
        shutil.rmtree(layout, ignore_errors=True)
        _sh(*_env_prefix(dy_env), *DOCKYARD, "build", "--progress", "quiet", "--platform", "linux/amd64",
            "-o", f"type=oci,dest={layout},tar=false", str(ctx))
        _sh(*bh_build)

    def make_tar() -> None:
        make_input()
        if not tar.exists():
            _sh("tar", "-cf", str(tar), "-C", str(ctx), "big.bin")

    cores = os.cpu_count() or 1
    return [
        Scenario("big", f"{mib} MiB random-content layer: cold build + push",
                 dockyard=Side("dockyard", dy_push, reset=_seq(lambda: shutil.rmtree(dy_root, ignore_errors=True),
                                                               env.push.reset), env=dy_env),
                 peers=(Side("buildah", ["bash", "-c", " ".join([*bh_build, "&&", *bh_push])],
                             reset=_seq(env.wipe_buildah, env.push.reset)),),
                 prepare=make_input),
        Scenario("bigpush", f"{mib} MiB random-content layer: push only (built already)",
                 dockyard=Side("dockyard", dy_push, reset=env.push.reset, env=dy_env),
                 peers=(Side("buildah", bh_push, reset=env.push.reset),
                        Side("skopeo", ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", f"oci:{layout}",
                                        f"docker://{ref}"], reset=env.push.reset)),
                 prepare=_seq(make_input, export_layout),
                 note="dockyard: `build --push` on its warm cache; skopeo: copy of dockyard's OCI layout"),
        Scenario("gzip", f"gzip -1 of that layer's tar ({mib} MiB)",
                 dockyard=Side("dockyard", [sys.executable, str(BENCH / "gzip_layer.py"), str(tar)]),
                 peers=(Side(f"pigz -p {cores}", ["bash", "-c", f"pigz -1 -p {cores} -c {tar} >/dev/null"]),),
                 floor=Side("isal 1 thread", ["bash", "-c", f"{sys.executable} -m isal.igzip -1 -c {tar} >/dev/null"]),
                 prepare=make_tar,
                 note="dockyard's layer compressor path (threaded isal, level 1, diff_id and digest hashed)"),
    ]


# ------------------------------------------------------------------ many small files


def small_files(env: Env) -> Scenario:
    """A context of 50,000 (QUICK: 10,000) 100-byte files in 100 directories, COPY'd into one layer."""
    files = 10_000 if env.quick else 50_000
    ctx = env.work / f"ctx-files-{files}"
    if not (ctx / ".complete").exists():
        shutil.rmtree(ctx, ignore_errors=True)
        data = b"x" * 99 + b"\n"
        for i in range(files):
            directory = ctx / "files" / f"d{i % 100:02d}"
            if i < 100:
                directory.mkdir(parents=True)
            (directory / f"f{i:06d}.txt").write_bytes(data + str(i).encode())
        (ctx / "Dockerfile").write_text(f"FROM {env.registry}/busybox:latest\nCOPY files/ /files/\n")
        (ctx / ".dockerignore").write_text(".complete\n")
        (ctx / ".complete").touch()
    return Scenario(
        "files", f"COPY of a {files:,}-file context (no cache)",
        dockyard=Side("dockyard", [*DOCKYARD, "build", "--progress", "quiet", "--no-cache", "--platform",
                                   "linux/amd64", str(ctx)], env=env.dockyard_env("root-files")),
        peers=(Side("buildah", [*env.buildah_build, "--no-cache", "--platform", "linux/amd64", str(ctx)]),),
        floor=Side("tar | cat", ["bash", "-c", "tar -cf - files | cat >/dev/null"], cwd=ctx),
        note="the floor reads every file once (tar -cf - . | cat >/dev/null)")


# ------------------------------------------------------------------ parse + plan


def plan(env: Env) -> Scenario:
    return Scenario(
        "plan500", "parse + plan of a 500-instruction Dockerfile (in process)",
        dockyard=Side("dockyard", [sys.executable, str(BENCH / "plan_bench.py"), "--runs", "5", "--seconds"],
                      self_timed=True),
        note="absolute time, median of 5 in-process runs; no peer")


def all_scenarios(env: Env) -> list[Scenario]:
    from rootless_scenarios import rootless  # it builds on this module's context and Env

    return [*two_platform(env), *one_platform(env), trivial(env), run_steps(env), *big_layer(env), small_files(env),
            plan(env), *rootless(env)]

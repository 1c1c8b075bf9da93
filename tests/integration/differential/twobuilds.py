"""Build one case directory with dockyard and with buildah, unpack both with umoci.

buildah runs with ``--runtime runc`` (crun 1.8.1 fails on this host's hybrid cgroups),
``--layers`` (one layer per instruction, as BuildKit does, so layer lists can be compared;
without it buildah squashes the build into one layer), ``--format docker`` (an OCI-format
build silently drops HEALTHCHECK, SHELL and ONBUILD) and ``--network host`` (skips ~0.2 s of
network namespace setup per RUN; no case uses the network). Its storage is a private
``--root``/``--runroot`` per session so the machine's own images are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.integration.differential import fstree, imageview

TIMEOUT = 240


@dataclass(frozen=True)
class Side:
    """One builder's result: the unpacked tree and the compared image view."""

    tree: dict[str, fstree.Node]
    image: imageview.ImageView


def _run(argv: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return proc.stdout


def _unpack(layout: Path, bundle: Path, env: dict[str, str]) -> dict[str, fstree.Node]:
    _run(["umoci", "unpack", "--image", f"{layout}:latest", str(bundle)], env)
    return fstree.walk(bundle / "rootfs")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without the per-test overrides of tests/conftest.py (buildah would read a
    DOCKER_CONFIG pointing at a directory that does not exist as an error)."""
    drop = {"DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "DOCKYARD_ROOT", "XDG_CONFIG_HOME", "SOURCE_DATE_EPOCH"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Dockyard:
    """``python -m dockyard build`` with its own data root for the whole session."""

    root: Path

    def build(self, context: Path, dockerfile: Path, *, platform: str, build_args: dict[str, str],
              work: Path) -> Side:
        env = _clean_env(DOCKYARD_ROOT=str(self.root / "data"), XDG_CONFIG_HOME=str(self.root / "xdg"),
                         DOCKER_CONFIG=str(self.root / "docker"))
        layout = work / "dockyard-oci"
        argv = [sys.executable, "-m", "dockyard", "build", "--progress", "plain", "--platform", platform,
                "-f", str(dockerfile), "-t", "differential:latest",
                "-o", f"type=oci,dest={layout},tar=false", str(context)]
        for name, value in build_args.items():
            argv += ["--build-arg", f"{name}={value}"]
        _run(argv, env)
        return Side(tree=_unpack(layout, work / "dockyard-bundle", env), image=imageview.read(layout))


@dataclass(frozen=True)
class Buildah:
    """buildah with private storage under ``root``."""

    root: Path

    def _argv(self, *args: str) -> list[str]:
        return ["buildah", "--root", str(self.root / "storage"), "--runroot", str(self.root / "run"), *args]

    def build(self, context: Path, dockerfile: Path, *, platform: str, build_args: dict[str, str],
              work: Path, name: str) -> Side:
        env = _clean_env()
        image = f"localhost/differential-{name}:latest"
        argv = self._argv("build", "--quiet", "--layers", "--format", "docker", "--runtime", "runc",
                          "--network", "host", "--tls-verify=false", "--platform", platform,
                          "-f", str(dockerfile), "-t", image)
        for key, value in build_args.items():
            argv += ["--build-arg", f"{key}={value}"]
        _run([*argv, str(context)], env)
        layout = work / "buildah-oci"
        _run(self._argv("push", "--quiet", image, f"oci:{layout}:latest"), env)
        inspected = json.loads(_run(self._argv("inspect", "--type", "image", image), env))
        docker_config = inspected["Docker"]["config"]
        return Side(tree=_unpack(layout, work / "buildah-bundle", env),
                    image=imageview.read(layout, docker_config=docker_config))

    def destroy(self) -> None:
        """Remove every image and the private storage (unmounting what buildah left mounted)."""
        subprocess.run(self._argv("rmi", "--all", "--force"), capture_output=True, env=_clean_env(),
                       timeout=TIMEOUT, check=False)
        with open("/proc/self/mounts") as mounts:
            mounted = [line.split()[1] for line in mounts if line.split()[1].startswith(str(self.root))]
        for point in sorted(mounted, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

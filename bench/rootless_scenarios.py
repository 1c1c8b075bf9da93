"""Issue 16's comparison: the peer two-platform build run by an ordinary user (rootless), against
the same build as root, and against buildah rootless run by the same user.

The user is the test rig's (tests/rig/unprivileged.py: subordinate ids, dockyard installed for
it, no capabilities); its context is a copy of the peer context in its home, which root's side
builds too (the same bytes). Rootless dockyard keeps its store under the user's
$XDG_DATA_HOME; buildah rootless gets a private --root/--runroot in the user's home. Here the
"dockyard" side is the rootless one, so the ratios read rootless/root and rootless/buildah.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness import Scenario, Side
from scenarios import DOCKYARD, PLATFORMS, Env, peer_context
from tests.rig.unprivileged import User, ensure_user


def _user_context(env: Env, user: User) -> Path:
    """A copy of this run's peer context; a copy left by an earlier run is made again when its
    Dockerfile differs (it names that run's registry port, long gone)."""
    ctx = user.home / "bench-ctx"
    peer = peer_context(env)
    stale = not (ctx / "Dockerfile").exists() or (ctx / "Dockerfile").read_bytes() != (peer / "Dockerfile").read_bytes()
    if stale or not (ctx / ".complete").exists():
        shutil.rmtree(ctx, ignore_errors=True)
        shutil.copytree(peer, ctx)
        for item in [ctx, *ctx.rglob("*")]:
            shutil.chown(item, user.uid, user.gid)
    return ctx


def rootless(env: Env) -> list[Scenario]:
    user = ensure_user()
    ctx = _user_context(env, user)
    data = user.home / "bench-data"
    user_env = {"XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(user.home / "bench-config")}
    ours = user.command([str(user.python), "-m", "dockyard", "build", "--progress", "quiet", "--platform", PLATFORMS,
                         str(ctx)], env=user_env)
    root_env = env.dockyard_env("root-rootless-peer")
    root_cmd = [*DOCKYARD, "build", "--progress", "quiet", "--platform", PLATFORMS, str(ctx)]
    buildah = ["buildah", "--root", str(user.home / "bench-buildah" / "root"), "--runroot",
               str(user.home / "bench-buildah" / "run"), "--storage-driver", "overlay"]
    lst = "dockyard-bench-rootless"
    peer = user.command([*buildah, "build", "--layers", "--tls-verify=false", "--runtime", "runc", "--quiet",
                         "--platform", PLATFORMS, "--manifest", lst, "-f", str(ctx / "Dockerfile"), str(ctx)])

    def as_user(*argv: str) -> None:
        subprocess.run(user.command(list(argv)), capture_output=True, check=False)

    def wipe_ours() -> None:
        shutil.rmtree(data, ignore_errors=True)  # as root: the subordinate ids' files too

    def wipe_root() -> None:
        shutil.rmtree(root_env["DOCKYARD_ROOT"], ignore_errors=True)

    def rm_list() -> None:
        as_user(*buildah, "manifest", "rm", lst)

    def wipe_buildah() -> None:
        rm_list()
        as_user(*buildah, "rm", "--all")
        as_user(*buildah, "rmi", "--all", "--force")

    return [
        Scenario("rootless-cold2", "cold two-platform build as an ordinary user (rootless)",
                 dockyard=Side("dockyard rootless", ours, reset=wipe_ours),
                 peers=(Side("dockyard as root", root_cmd, reset=wipe_root, env=root_env),
                        Side("buildah rootless", peer, reset=wipe_buildah)),
                 note="ratios: rootless dockyard / each peer; the user has no capabilities (runuser)"),
        Scenario("rootless-warm2", "warm two-platform rebuild as an ordinary user (rootless)",
                 dockyard=Side("dockyard rootless", ours),
                 peers=(Side("dockyard as root", root_cmd, env=root_env),
                        Side("buildah rootless", peer, reset=rm_list))),
    ]

"""``RUN --mount=type=ssh,uid=,gid=,mode=`` in real runc: the step sees a socket with the mount's
owner and mode (0600 root by default), so a step running as a non-root USER reaches the agent only
when the mount says so. BuildKit: frontend/dockerfile/dockerfile2llb/convert_runmount.go
``dispatchRunMounts`` (``llb.SSHSocketOpt(target, uid, gid, mode)``, mode 0600 by default) and
session/sshforward/ssh.go ``MountSSHSocket`` (chown and chmod of a socket made per mount)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration


def test_ssh_mount_uid_gid_mode_reach_the_step(tmp_path: Path, busybox_base: str) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_base}\n"
        "RUN --mount=type=ssh stat -c '%u %g %a' \"$SSH_AUTH_SOCK\" > /default\n"
        "RUN --mount=type=ssh,uid=1000,gid=1001,mode=0640,target=/run/agent "
        "stat -c '%u %g %a' /run/agent > /custom && echo \"$SSH_AUTH_SOCK\" > /custom-env\n"
        "RUN mkdir /out && chmod 777 /out\n"
        "USER 1000\n"
        "RUN --mount=type=ssh,uid=1000 if test -w \"$SSH_AUTH_SOCK\"; then echo yes; else echo no; fi > /out/owned\n"
        "RUN --mount=type=ssh if test -w \"$SSH_AUTH_SOCK\"; then echo yes; else echo no; fi > /out/root-only\n"
    )
    agent_path = tmp_path / "agent.sock"
    with socket.socket(socket.AF_UNIX) as agent:
        agent.bind(str(agent_path))
        agent_path.chmod(0o600)
        agent.listen()
        dockyard("build", "--progress", "plain", "--ssh", f"default={agent_path}",
                 "-o", f"type=local,dest={tmp_path / 'out'}", str(ctx))
    out = tmp_path / "out"
    assert (out / "default").read_text() == "0 0 600\n"
    assert (out / "custom").read_text() == "1000 1001 640\n"
    assert (out / "custom-env").read_text() == "/run/agent\n"
    assert (out / "out" / "owned").read_text() == "yes\n"
    assert (out / "out" / "root-only").read_text() == "no\n"

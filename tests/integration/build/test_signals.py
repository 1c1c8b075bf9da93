"""SIGTERM and SIGHUP during a RUN stop the build as Ctrl-C does, and no secret is left anywhere
(issue 18, item 3).

What CI cancellation, ``timeout`` and Kubernetes send used to end dockyard on the spot, leaving
the step's container running, its overlay mounted, the secret file in /dev/shm and the value of
an ``env=`` secret in plain text in the bundle's config.json. After the signal these tests look
for the secret's value in every file of the data root, every file in /dev/shm and every process's
environment and command line, and for containers, mounts and bundles; then build again.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration


def _files_holding(marker: bytes, top: Path, *, skip_mounts: bool = False) -> list[str]:
    """Files under ``top`` whose bytes contain ``marker``; ``skip_mounts`` leaves mounted trees out."""
    found = []
    for dirpath, dirs, files in os.walk(top):
        if skip_mounts:
            dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(dirpath, d))]
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as handle:
                    if marker in handle.read():
                        found.append(path)
            except OSError:  # sockets, vanished files
                continue
    return found


def _processes_holding(marker: bytes) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for what in ("environ", "cmdline"):
            try:
                if marker in Path(f"/proc/{pid}/{what}").read_bytes():
                    found.append(f"/proc/{pid}/{what}")
            except OSError:
                continue
    return found


def _start(ctx: Path, secret_file: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "build", "--progress", "plain",
                             "--secret", f"id=tok,src={secret_file}", "-o", f"type=local,dest={ctx.parent / 'out'}",
                             str(ctx)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "running-marker" in line or not line:
            break
    return proc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_run_cleans_up_everything(busybox_base: str, tmp_path: Path, dockyard_root: Path,
                                                signum: int) -> None:
    marker = f"secret-marker-{secrets.token_hex(8)}"
    secret_file = tmp_path / "token"
    secret_file.write_text(marker)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_base}\nRUN echo a > /a\n"
        "RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=tok,target=/run/tok "
        "echo running-marker && sleep 120\n")
    proc = _start(ctx, secret_file)
    try:
        time.sleep(0.5)
        # while the step runs, the value is in the container's environment and on tmpfs mounts, on no disk
        assert _files_holding(marker.encode(), dockyard_root, skip_mounts=True) == []
        assert _processes_holding(marker.encode()) != []
    finally:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert f"terminated ({signal.Signals(signum).name})" in err
    assert "Traceback" not in err and marker not in err
    containers = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=False).stdout
    assert f"dockyard-{proc.pid}-" not in containers
    assert str(dockyard_root) not in Path("/proc/mounts").read_text()
    assert list((dockyard_root / "run").iterdir()) == []
    assert _files_holding(marker.encode(), dockyard_root) == []
    assert _files_holding(marker.encode(), Path("/dev/shm")) == []
    assert _processes_holding(marker.encode()) == []
    # the next build is correct: the interrupted step runs, nothing half-made is reused
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_base}\nRUN echo a > /a\n"
        "RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=tok "
        "test \"$TOKEN\" = \"$(cat /run/secrets/tok)\" && echo ok > /b\n")
    dockyard("build", "--progress", "quiet", "--secret", f"id=tok,src={secret_file}",
             "-o", f"type=local,dest={tmp_path / 'out2'}", str(ctx))
    assert (tmp_path / "out2" / "a").read_text() == "a\n"
    assert (tmp_path / "out2" / "b").read_text() == "ok\n"
    assert _files_holding(marker.encode(), dockyard_root) == []

"""Helpers for the tests that interrupt builds: a build stopped inside a RUN holding a secret, and
searches for the secret's value in files and in every process's environment and command line."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

RUNNING = "running-marker"


@dataclass(frozen=True)
class SecretStep:
    """A context whose last RUN mounts secret ``tok`` (file and ``env=TOKEN``) and sleeps."""

    marker: str
    secret_file: Path
    ctx: Path

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``dockyard build`` of the context, returned once the sleeping step has started."""
        proc = subprocess.Popen([sys.executable, "-m", "dockyard", "build", "--progress", "plain",
                                 "--secret", f"id=tok,src={self.secret_file}", *args, str(self.ctx)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if RUNNING in line or not line:
                break
        time.sleep(0.3)
        return proc


def secret_step(tmp_path: Path, base: str, *, before: str = "") -> SecretStep:
    marker = f"secret-marker-{secrets.token_hex(8)}"
    secret_file = tmp_path / "token"
    secret_file.write_text(marker)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {base}\n{before}"
        "RUN --mount=type=secret,id=tok,env=TOKEN --mount=type=secret,id=tok,target=/run/tok "
        f"echo {RUNNING} && sleep 300\n")
    return SecretStep(marker, secret_file, ctx)


def files_holding(marker: str, top: Path, *, skip_mounts: bool = False) -> list[str]:
    """Files under ``top`` whose bytes contain ``marker``; ``skip_mounts`` leaves mounted trees out."""
    found = []
    for dirpath, dirs, files in os.walk(top):
        if skip_mounts:
            dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(dirpath, d))]
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(path)
            except OSError:  # sockets, vanished files
                continue
    return found


def processes_holding(marker: str) -> list[str]:
    """``/proc/PID/environ`` and ``cmdline`` files that contain ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for what in ("environ", "cmdline"):
            try:
                if marker.encode() in Path(f"/proc/{pid}/{what}").read_bytes():
                    found.append(f"/proc/{pid}/{what}")
            except OSError:
                continue
    return found


def step_containers(pid: int) -> list[str]:
    """runc containers of the dockyard process ``pid``."""
    out = subprocess.run(["runc", "list", "-q"], capture_output=True, text=True, check=True).stdout
    return [ident for ident in out.split() if ident.startswith(f"dockyard-{pid}-")]

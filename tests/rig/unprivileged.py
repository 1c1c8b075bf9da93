"""An ordinary user for rootless tests: subordinate ids, a dockyard it can run, no capabilities.

The user is named after the checkout (``dyrl-`` and 8 hex digits of its path), so engineers'
and CI's test runs on one machine never share it; it is created once (useradd allocates a
free subuid/subgid range from login.defs) and reused afterwards. dockyard is "installed" for
it as a venv in its home made with an interpreter it can execute, whose .pth adds this
checkout's site-packages (read-only for the user): the checkout's own .venv may live
under /root, which the user cannot enter.

Commands run through ``runuser -u USER`` with a clean environment: uid and gids of the
user, an empty capability set (checked by :func:`capabilities`), no sudo.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class User:
    """The test user: ``python`` runs dockyard as it; ``subuid`` is the first id of its range."""

    name: str
    uid: int
    gid: int
    home: Path
    python: Path
    subuid: int
    subgid: int

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 600, outer: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
        """``argv`` as the user, with only HOME, PATH, LANG and ``env`` in its environment.

        ``outer`` runs first, as root, and must exec its arguments (e.g. a wrapper that masks
        /proc paths in a private mount namespace, as a container runtime does).
        """
        return subprocess.run([*outer, *self.command(argv, env=env)],
                              capture_output=True, text=True, timeout=timeout, cwd=cwd or self.home, check=False)

    def command(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> list[str]:
        """The command line (for root to run) that runs ``argv`` as the user with a clean environment."""
        base = {"HOME": str(self.home), "PATH": PATH, "LANG": "C.UTF-8", "USER": self.name, **(env or {})}
        return ["runuser", "-u", self.name, "--", "env", "-i", *(f"{k}={v}" for k, v in base.items()), *argv]

    def dockyard(self, *args: str, env: dict[str, str] | None = None,
                 outer: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.python), "-m", "dockyard", *args], env=env, outer=outer)

    def capabilities(self) -> dict[str, str]:
        """The Cap* lines of /proc/self/status of a process the user runs."""
        out = self.run(["cat", "/proc/self/status"]).stdout
        return {k: v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if k.startswith("Cap")}


def _name() -> str:
    return "dyrl-" + hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]


def _first_range(path: str, name: str) -> int | None:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            fields = line.strip().split(":")
            if len(fields) == 3 and fields[0] == name:
                return int(fields[1])
    return None


def _free_start() -> int:
    """A 65536-id range above every range already in /etc/subuid and /etc/subgid."""
    top = 100000
    for path in ("/etc/subuid", "/etc/subgid"):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.strip().split(":")
                if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
                    top = max(top, int(fields[1]) + int(fields[2]))
    return top


def _interpreter(name: str) -> Path:
    """A Python of this version that the user can execute (the compiled extensions must load)."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    candidates = [base, Path(f"/usr/bin/python{want}"), Path(f"/usr/local/bin/python{want}")]
    for path in candidates:
        if not path.exists():
            continue
        probe = subprocess.run(["runuser", "-u", name, "--", str(path), "-c",
                                "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == want:
            return path
    raise RuntimeError(f"no Python {want} that user {name} can execute (tried {', '.join(map(str, candidates))})")


def ensure_user() -> User:
    """Create (once) or reuse the checkout's test user, with subordinate ids and dockyard installed."""
    name = _name()
    for path in ("/etc/subuid", "/etc/subgid"):
        Path(path).touch(exist_ok=True)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    if _first_range("/etc/subuid", name) is None or _first_range("/etc/subgid", name) is None:
        start = _free_start()
        span = f"{start}-{start + 65535}"
        subprocess.run(["usermod", "--add-subuids", span, "--add-subgids", span, name], check=True, capture_output=True)
    subuid, subgid = _first_range("/etc/subuid", name), _first_range("/etc/subgid", name)
    assert subuid is not None and subgid is not None
    home = Path(entry.pw_dir)
    python = _install(name, home)
    return User(name, entry.pw_uid, entry.pw_gid, home, python, subuid, subgid)


def _install(name: str, home: Path) -> Path:
    venv = home / "dockyard-venv"
    python = venv / "bin" / "python"
    site = Path(sysconfig.get_paths()["purelib"])
    pth_line = f"import site; site.addsitedir({str(site)!r})\n"
    if not python.exists():
        base = _interpreter(name)
        shutil.rmtree(venv, ignore_errors=True)
        made = subprocess.run(["runuser", "-u", name, "--", str(base), "-m", "venv", "--without-pip", str(venv)],
                              capture_output=True, text=True, check=False)
        if made.returncode != 0:
            raise RuntimeError(f"cannot make a venv for {name}: {made.stderr.strip()}")
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    pth = Path(out) / "dockyard-checkout.pth"
    if not pth.exists() or pth.read_text() != pth_line:
        pth.write_text(pth_line)
        os.chown(pth, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
    check = subprocess.run(["runuser", "-u", name, "--", str(python), "-c", "import dockyard.cli.main"],
                           capture_output=True, text=True, check=False)
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"user {name} cannot import dockyard from {site} ({last}): the checkout and its .venv "
                           "must be readable by other users")
    return python

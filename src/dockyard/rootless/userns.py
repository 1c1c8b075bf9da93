"""Re-executing dockyard in a user namespace where the calling user is root.

The parent (the user's process) forks; the child unshares a user and a mount namespace
and waits on a pipe; the parent writes the child's id maps with newuidmap/newgidmap
(setuid helpers from the uidmap package, the only privileged step, checked by them
against /etc/subuid and /etc/subgid) and lets it go; the child then drops its
supplementary groups, makes its mounts private and execs the same command again. That
second dockyard is uid 0 with every capability over its own namespaces: it mounts
overlayfs and runs runc as it would as root, and every file it makes belongs, seen from
outside, to the user (for the namespace's root) or to the subordinate range (for image
ids 1..N). The parent only forwards SIGTERM/SIGHUP and returns the child's exit code.

The child's network namespace is the host's (none is unshared), so registries on the
host's loopback stay reachable for pushes; RUN steps get their own (see :mod:`.network`).
The store path is decided by the parent (the user's $XDG_DATA_HOME) and handed down in
DOCKYARD_ROOT, since inside the namespace the process would otherwise look like root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from dockyard.errors import HostError
from dockyard.hosttools import libc, require_tool
from dockyard.paths import data_root
from dockyard.rootless.mode import SUBGID, SUBUID, IdRange, in_user_namespace, subordinate_ranges, user_name

if TYPE_CHECKING:
    import ctypes

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
ENV_MARK = "DOCKYARD_USERNS"  # set in the child: it was made by dockyard's re-exec


def needs_reexec() -> bool:
    """True for an ordinary user outside any user namespace dockyard made."""
    return os.geteuid() != 0 and not in_user_namespace()


def require_user_namespace() -> None:
    """Refuse to solve in a store as an ordinary user outside a user namespace, saying how to enter one.

    The ``dockyard`` command re-executes itself first; a Python program calling the library
    as an ordinary user has to do the same, or every mount and chown would fail step by step.
    """
    if needs_reexec():
        raise HostError("as an ordinary user, builds run as root of a user namespace, and this process is not in one",
                        hint="use the dockyard command (it enters one by itself), or start your program with "
                        "dockyard.rootless.userns.reexec([sys.executable, *sys.argv])")


def id_maps(uid: int, gid: int) -> tuple[list[str], list[str]]:
    """newuidmap's and newgidmap's arguments (after the pid): the user to 0, its ranges from 1 on.

    A missing range is a HostError whose hint is the usermod command root runs once.
    """
    name = user_name(uid) or str(uid)
    hint = (f"as root, once: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name} "
            "(or pick a range no other user has)")
    out: list[list[str]] = []
    for path, own, ranges in ((SUBUID, uid, subordinate_ranges(SUBUID, uid=uid)),
                              (SUBGID, gid, subordinate_ranges(SUBGID, uid=uid))):
        if not ranges:
            raise HostError(f"rootless mode needs subordinate ids: {path} has no range for user {name}", hint=hint)
        out.append(_map_args(own, ranges))
    return out[0], out[1]


def _map_args(own: int, ranges: Sequence[IdRange]) -> list[str]:
    args = ["0", str(own), "1"]
    inside = 1
    for r in ranges:
        args += [str(inside), str(r.start), str(r.count)]
        inside += r.count
    return args


def reexec(argv: Sequence[str]) -> NoReturn:
    """Run ``argv`` (an interpreter command line) again as root of a new user namespace; exit with its code."""
    uid_args, gid_args = id_maps(os.getuid(), os.getgid())
    newuidmap = require_tool("newuidmap", package="uidmap")
    newgidmap = require_tool("newgidmap", package="uidmap")
    env = dict(os.environ)
    env.setdefault("DOCKYARD_ROOT", str(data_root()))
    env[ENV_MARK] = "1"
    found = libc()  # loaded here, before the fork: the child only makes system calls
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: only syscalls until exec
        os.close(ready_r)
        os.close(go_w)
        _child(found, ready_w, go_r, list(argv), env)
    os.close(ready_w)
    os.close(go_r)
    ok = os.read(ready_r, 1) == b"1"
    os.close(ready_r)
    error = None if ok else "the kernel refused to create a user namespace"
    if error is None:
        for tool, args in ((newuidmap, uid_args), (newgidmap, gid_args)):
            proc = subprocess.run([tool, str(pid), *args], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                error = f"{os.path.basename(tool)} failed: {proc.stderr.strip() or proc.returncode}"
                break
    os.write(go_w, b"1" if error is None else b"0")
    os.close(go_w)
    forwarded = (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    for sig in forwarded:
        signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to the child too
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if error is not None:
        raise HostError(f"cannot enter a user namespace: {error}",
                        hint="user namespaces must be enabled (sysctl user.max_user_namespaces > 0; in a "
                        "container see docs/rootless.md); newuidmap/newgidmap must be setuid (package uidmap)")
    code = os.waitstatus_to_exitcode(status)
    sys.exit(128 - code if code < 0 else code)


def _child(clib: ctypes.CDLL, ready_w: int, go_r: int, argv: list[str], env: dict[str, str]) -> NoReturn:
    """Unshare, wait for the maps, become root with no extra groups, exec ``argv``."""
    try:
        if clib.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
            os.write(ready_w, b"0")
            os._exit(125)
        os.write(ready_w, b"1")
        os.close(ready_w)
        if os.read(go_r, 1) != b"1":
            os._exit(125)
        os.close(go_r)
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        os.setgroups([])
        # mounts made here (overlay snapshots) must not propagate anywhere
        if clib.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(sys.modules["ctypes"].get_errno(), "cannot make / a private mount")  # no import after fork
        os.execve(argv[0], argv, env)
    except BaseException as exc:  # nothing may unwind into the parent's code after fork
        os.write(2, f"error: cannot enter the user namespace: {exc}\n".encode())
        os._exit(125)

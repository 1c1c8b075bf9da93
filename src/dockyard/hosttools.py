"""The host programs dockyard relies on (runc, qemu-user-static, the registry) and how to find them,
and the C library for the system calls Python has no function for (mount, unshare).

A missing program is a :class:`~dockyard.errors.HostError` that names the Debian package
to install, so a fresh machine's first failure tells the user exactly what to do.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

from dockyard.errors import HostError

if TYPE_CHECKING:
    import ctypes

_VERSION_RE = re.compile(r"(\d+(?:\.\d+)+[\w.+~-]*)")


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library, loaded when a system call needs it: a build served from the cache makes none
    (issue 17: ctypes and ``find_library``'s ``ldconfig -p`` run cost ~2 ms a start). ``CDLL(None)``
    is the process's own symbol table, which holds libc's (glibc and musl); ``ctypes.get_errno()``
    gives a failed call's errno."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def require_tool(name: str, *, package: str) -> str:
    """The absolute path of ``name`` on PATH, or a HostError naming ``package``."""
    path = shutil.which(name)
    if path is None:
        raise HostError(f"{name} is not installed", hint=f"install it: apt-get install {package}")
    return path


def tool_version(argv: list[str]) -> str | None:
    """The version a tool prints for ``argv`` (e.g. ``runc --version``), or None when absent."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = out.strip().splitlines()[0] if out.strip() else ""
    match = _VERSION_RE.search(first)
    return match.group(1) if match else (first or None)

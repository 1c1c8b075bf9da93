"""Temporary names that carry the pid of the process that made them.

A killed process (kill -9, a crashed CI runner) cannot clean up: its bundles, secret tmpfs
mounts, half-written blobs and scratch directories stay. Stamping each temporary name with
the maker's pid (``PREFIX-PID-RANDOM``) lets any later dockyard process tell a dead maker's
leftovers from a running build's work without a lock, which :mod:`dockyard.store.reclaim`
relies on.
"""

from __future__ import annotations

import os


def stamp(prefix: str) -> str:
    """``prefix`` extended with this process's pid, for ``tempfile.mkdtemp``/``mkstemp``."""
    return f"{prefix}{os.getpid()}-"


def owner(name: str) -> int | None:
    """The pid stamped into ``name`` (``...-PID-RANDOM``), or None for a name without one."""
    parts = name.split("-")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(name: str) -> bool:
    """Whether ``name`` was stamped by a process that is gone."""
    pid = owner(name)
    return pid is not None and pid != os.getpid() and not alive(pid)

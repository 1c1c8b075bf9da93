"""Mount-point stubs: paths the runtime creates in a rootfs only to mount something on them.

runc makes a missing mount target (a directory, or an empty file for a file bind such
as /etc/resolv.conf). Left in place they would land in the step's layer although the
step never wrote them. Like BuildKit, the executor notes which targets were missing
before the run and removes those that are still empty stubs afterwards, restoring the
parent directory's mtime so the parent does not look modified either.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.oci.rootpath import resolve, split_relative


@dataclass(frozen=True)
class _Stub:
    """A mount target made in the rootfs for a step, removed after it (with its parent's mtime restored)."""

    path: bytes
    parent_mtime_ns: int


def missing_targets(rootfs: str | os.PathLike[str], targets: Iterable[str]) -> list[_Stub]:
    """The components of ``targets`` that do not exist in ``rootfs`` yet, outermost first."""
    found: list[_Stub] = []
    seen: set[bytes] = set()
    looked: set[bytes] = set()  # container paths already resolved (/etc for both /etc/hosts and /etc/resolv.conf)
    for target in targets:
        parts = split_relative(target)
        for depth in range(1, len(parts) + 1):
            sub = b"/" + b"/".join(parts[:depth])
            if sub in looked:
                continue
            looked.add(sub)
            path = resolve(rootfs, sub, follow_last=False)
            if path in seen:
                continue
            if os.path.lexists(path):
                continue
            parent = os.path.dirname(path)
            try:
                mtime = os.lstat(parent).st_mtime_ns
            except FileNotFoundError:
                mtime = -1
            seen.add(path)
            found.append(_Stub(path, mtime))
    return found


def remove_stubs(stubs: list[_Stub]) -> None:
    """Delete the stubs that are still empty (innermost first) and restore their parents' mtimes."""
    for stub in reversed(stubs):
        try:
            st = os.lstat(stub.path)
        except FileNotFoundError:
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(st.st_mode):
                os.rmdir(stub.path)  # fails when the step put something in it: then it stays
            elif stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(stub.path)
            else:
                continue
            if stub.parent_mtime_ns >= 0:
                parent = os.path.dirname(stub.path)
                os.utime(parent, ns=(stub.parent_mtime_ns, stub.parent_mtime_ns), follow_symlinks=False)

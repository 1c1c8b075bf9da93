"""Which mode dockyard runs in (root or rootless), and what the rootless mode has to work with.

The mode follows the effective uid: an ordinary user is rootless. A process that is uid 0
only inside a user namespace (dockyard after its re-exec, or root in a user-namespaced
container) is rootless too: it cannot set trusted.* xattrs, create device nodes or write
the host's cgroups, so overlayfs needs ``userxattr`` and runc its rootless mode.
"""

from __future__ import annotations

import functools
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")
_IDENTITY_MAP = ("0", "0", "4294967295")


@dataclass(frozen=True)
class IdRange:
    """``count`` ids starting at ``start`` (one line of /etc/subuid, or of a uid_map)."""

    start: int
    count: int

    def __str__(self) -> str:
        return f"{self.start}-{self.start + self.count - 1}"


@functools.cache
def in_user_namespace() -> bool:
    """Whether this process lives in a user namespace other than the host's (its uid map is partial)."""
    try:
        lines = Path("/proc/self/uid_map").read_text().split("\n")
    except OSError:
        return False
    maps = [line.split() for line in lines if line.strip()]
    return maps != [list(_IDENTITY_MAP)]


def is_rootless() -> bool:
    """True for an ordinary user and for uid 0 inside a user namespace."""
    return os.geteuid() != 0 or in_user_namespace()


def user_name(uid: int) -> str | None:
    """The passwd name of ``uid`` (subuid files list names or numbers)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def subordinate_ranges(path: Path, *, uid: int) -> list[IdRange]:
    """The ranges ``path`` (/etc/subuid or /etc/subgid) grants to ``uid``, by name or by number."""
    try:
        text = path.read_text()
    except OSError:
        return []
    names = {str(uid)}
    name = user_name(uid)
    if name:
        names.add(name)
    out: list[IdRange] = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in names and fields[1].isdigit() and fields[2].isdigit():
            count = int(fields[2])
            if count > 0:
                out.append(IdRange(int(fields[1]), count))
    return out


def describe() -> str:
    """One line for ``dockyard version`` / ``inspect``: the mode and the ids it maps."""
    if not is_rootless():
        return "root"
    if os.geteuid() == 0:
        return f"rootless (uid 0 in a user namespace: {_map_text()})"
    uid = os.geteuid()
    subuids = subordinate_ranges(SUBUID, uid=uid)
    subgids = subordinate_ranges(SUBGID, uid=uid)
    ids = (f"subuids {', '.join(map(str, subuids)) or 'none'}, subgids {', '.join(map(str, subgids)) or 'none'}")
    return f"rootless (uid {uid} becomes root in a user namespace; {ids})"


def _map_text() -> str:
    try:
        lines = Path("/proc/self/uid_map").read_text().splitlines()
    except OSError:
        return "unknown map"
    parts = []
    for line in lines:
        fields = line.split()
        if len(fields) == 3:
            inside, outside, count = (int(f) for f in fields)
            parts.append(f"{inside}-{inside + count - 1} -> {outside}-{outside + count - 1}" if count > 1
                         else f"{inside} -> {outside}")
    return ", ".join(parts) or "empty map"

"""The OCI runtime configuration (config.json) of a build step.

What a RUN step sees matches what Docker gives a container, minus what a build does not
need: its own mount, pid, ipc and uts namespaces; with ``--network=none`` its own network
namespace (runc brings its loopback up: it adds a loopback interface for every new
network namespace), with ``--network=host`` none at all plus the host's
/etc/resolv.conf and /etc/hosts bound read-only; /proc, a tmpfs /dev with the default
devices runc creates (null, zero, full, random, urandom, tty), /dev/pts, /dev/shm and a
read-only /sys; Docker's default capability set and masked paths. No cgroup limits and
no network setup beyond that are asked for: each would cost start-up time on every step.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.executor.base import Mount, Network, RunRequest
from dockyard.executor.user import ExecUser

OCI_VERSION = "1.0.2"
NOFILE = 1048576
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's default capability set (moby's oci/caps/defaults.go lists the same 14).
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

MASKED_PATHS = (
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

HOST_FILES = ("/etc/resolv.conf", "/etc/hosts")


def _base_mounts() -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]


def _extra_mount(mount: Mount) -> dict[str, Any]:
    if mount.kind == "tmpfs":
        options = ["nosuid", "nodev", *mount.options]
        return {"destination": mount.target, "type": "tmpfs", "source": "tmpfs", "options": options}
    options = ["rbind", "ro" if mount.readonly else "rw", *mount.options]
    # absolute: the runtime resolves a relative source against the bundle directory, so a
    # relative build context would show the bundle (config.json) instead of the context
    return {"destination": mount.target, "type": "bind", "source": os.path.abspath(mount.source),
            "options": options}


def environment(env: Sequence[str], user: ExecUser) -> list[str]:
    """``env`` with PATH and HOME added when absent, as Docker does for every container."""
    result = list(env)
    keys = {item.partition("=")[0] for item in result}
    if "PATH" not in keys:
        result.append(f"PATH={DEFAULT_PATH}")
    if "HOME" not in keys:
        result.append(f"HOME={user.home}")
    return result


def nofile_limit() -> int:
    """Docker's 1048576 open files, lowered to our own hard limit where we may not raise it.

    Without CAP_SYS_RESOURCE (a root that is itself in a container) asking for more
    than our hard limit makes runc fail before the step starts.
    """
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)


def mount_targets(request: RunRequest) -> list[str]:
    """The paths the runtime may create in the rootfs to mount on, in order (the stub cleaner needs them).

    A target inside an earlier mount of a fresh filesystem (/dev/pts in the /dev tmpfs, anything
    under a ``RUN --mount=type=tmpfs``) is made in that filesystem, never in the rootfs: it is left
    out, which spares each step the lookups (there are three under /dev alone).
    """
    mounts = [(m["destination"], m["type"] != "bind") for m in _base_mounts()]
    if request.network is not Network.NONE:
        mounts.extend((path, False) for path in HOST_FILES)
    mounts.extend((m.target, m.kind == "tmpfs") for m in request.mounts)
    targets: list[str] = []
    fresh: list[str] = []
    for target, is_fresh in mounts:
        if not any(target == f or target.startswith(f.rstrip("/") + "/") for f in fresh):
            targets.append(target)
        if is_fresh:
            fresh.append(target)
    return targets


def _additional_gids(user: ExecUser) -> list[int]:
    """The primary gid first, then the supplementary ones: BuildKit (like containerd) always lists
    the primary group, so ``id`` and group-permission checks in a RUN see it in ``groups=``."""
    return [user.gid, *(g for g in user.additional_gids if g != user.gid)]


def runtime_spec(request: RunRequest, *, rootfs: Path, user: ExecUser) -> dict[str, Any]:
    """The config.json document for ``request`` with ``rootfs`` as the root and ``user`` resolved."""
    caps = list(DEFAULT_CAPABILITIES)
    namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    mounts = _base_mounts()
    if request.network is Network.NONE:
        namespaces.append({"type": "network"})
    else:
        mounts.extend({"destination": path, "type": "bind", "source": path, "options": ["rbind", "ro"]}
                      for path in HOST_FILES)
    mounts.extend(_extra_mount(m) for m in request.mounts)
    process: dict[str, Any] = {
        "terminal": False,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": _additional_gids(user)},
        "args": list(request.args),
        "env": environment(request.env, user),
        "cwd": request.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile_limit(), "soft": nofile_limit()}],
        "noNewPrivileges": request.no_new_privileges,
    }
    return {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": os.path.abspath(rootfs), "readonly": False},
        "hostname": request.hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }

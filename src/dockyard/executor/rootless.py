"""What changes for a step when dockyard runs rootless (uid 0 of a user namespace).

runc is told so (``--rootless true``: it then skips cgroups it may not write and binds
the default devices instead of creating them) and keeps its state under the store
(``--root``), since /run/runc belongs to the host's root. The step runs in the build
process's user namespace, so image uids 0..N already map to the user and its subordinate
range and nothing in the spec needs a uid mapping of its own.

Containers (Docker, Kubernetes) mask paths of their /proc and /sys by mounting over them,
and the kernel then refuses a fresh procfs or sysfs in any namespace the container's
user can make (fs/namespace.c, mount_too_revealing). A probe finds out once per process
(``unshare`` trying both mounts); where it fails, steps run as BuildKit's
``--oci-worker-no-process-sandbox`` runs them (executor/oci/spec_linux.go, withBoundProc):
without their own pid namespace, with the container's /proc (and /sys) bound instead.
Steps can then see, and signal, the build's other processes: docs/rootless.md says so.

Networking is the other difference (:mod:`dockyard.rootless.network`): a step with the
default network joins the build's slirp4netns namespace, with a resolv.conf naming its
DNS forwarder. Without slirp4netns the default becomes ``none``, as the issue that asked
for rootless builds specified; an explicit ``--network=host`` is then an error, never
silently downgraded.
"""

from __future__ import annotations

import dataclasses
import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import HostError
from dockyard.executor.base import Network, RunRequest
from dockyard.rootless.network import BuildNetwork


@dataclass(frozen=True)
class KernelMounts:
    """Whether a fresh procfs and sysfs can be mounted here (False: the container masks them)."""

    proc: bool
    sys: bool


def _mounts(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=20, check=False,
                              stdin=subprocess.DEVNULL).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def kernel_mounts() -> KernelMounts:
    """Probe (once per process, a few ms) what runc will be allowed to mount for a step."""
    proc = _mounts(["unshare", "--pid", "--fork", "--mount", "--mount-proc", "true"])
    sys = _mounts(["unshare", "--mount", "--net", "mount", "-t", "sysfs", "-o", "ro", "sysfs", "/sys"])
    return KernelMounts(proc=proc, sys=sys)


def describe_sandbox() -> str:
    """One line for ``inspect``: whether steps get their own pid namespace and /proc."""
    found = kernel_mounts()
    if found.proc and found.sys:
        return "own pid namespace, /proc and /sys"
    masked = " and ".join(name for name, ok in (("/proc", found.proc), ("/sys", found.sys)) if not ok)
    return (f"no process sandbox: {masked} masked by the container, bound instead "
            "(steps share the build's pid namespace)")


def _bind_kernel_mounts(config: dict[str, Any], found: KernelMounts) -> dict[str, Any]:
    if not found.proc:
        config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "pid"]
        config["mounts"] = [{"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]}
                            if m["destination"] == "/proc" else m for m in config["mounts"]]
    if not found.sys:
        config["mounts"] = [{"destination": "/sys", "type": "bind", "source": "/sys",
                             "options": ["rbind", "ro", "nosuid", "noexec", "nodev"]}
                            if m["destination"] == "/sys" else m for m in config["mounts"]]
    return config


class RootlessSandbox:
    """Adapts runc's command line and each step's request and spec for rootless mode."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.network = BuildNetwork(state_dir / "net")

    def runtime_args(self) -> list[str]:
        """runc's global options: rootless, with its state beside the store's other run files."""
        return ["--root", str(self.state_dir / "runc"), "--rootless", "true"]

    def request(self, request: RunRequest) -> RunRequest:
        """``request`` with the network it can have here (the default without slirp4netns: none)."""
        if request.network is Network.NONE or self.network.available():
            return request
        if request.network is Network.HOST:
            raise HostError("RUN --network=host needs slirp4netns in rootless mode (and /dev/net/tun usable)",
                            hint="install it: apt-get install slirp4netns; or use RUN --network=none")
        return dataclasses.replace(request, network=Network.NONE)

    def spec(self, config: dict[str, Any], request: RunRequest) -> dict[str, Any]:
        """The step's config.json: kernel filesystems as the container allows, the build's network."""
        config = _bind_kernel_mounts(config, kernel_mounts())
        if request.network is Network.NONE:
            return config
        netns, resolv = self.network.namespace()
        config["linux"]["namespaces"].append({"type": "network", "path": netns})
        for mount in config["mounts"]:
            if mount["destination"] == "/etc/resolv.conf" and mount["type"] == "bind":
                mount["source"] = str(resolv)
        return config

    def close(self) -> None:
        self.network.close()

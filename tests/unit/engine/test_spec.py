"""The runtime config of a step: namespaces per network mode, mounts, user, env, rlimits, caps."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Any

from dockyard.executor.base import Mount, Network, RunRequest
from dockyard.executor.spec import DEFAULT_CAPABILITIES, mount_targets, runtime_spec
from dockyard.executor.user import ExecUser


def _spec(**kwargs: Any) -> dict[str, Any]:
    request = RunRequest(rootfs=Path("/r"), args=["sh", "-c", "true"], **kwargs)
    return runtime_spec(request, rootfs=Path("/r"), user=ExecUser(uid=1000, gid=1000, additional_gids=(10,),
                                                                   home="/home/app"))


def _namespaces(spec: dict[str, Any]) -> set[str]:
    return {ns["type"] for ns in spec["linux"]["namespaces"]}


def test_network_none_gets_its_own_namespace_and_no_host_files() -> None:
    spec = _spec(network=Network.NONE)
    assert _namespaces(spec) == {"pid", "ipc", "uts", "mount", "network"}
    assert "/etc/resolv.conf" not in {m["destination"] for m in spec["mounts"]}


def test_network_host_shares_the_namespace_and_binds_resolv_conf_read_only() -> None:
    spec = _spec(network=Network.HOST)
    assert _namespaces(spec) == {"pid", "ipc", "uts", "mount"}
    binds = {m["destination"]: m for m in spec["mounts"] if m["type"] == "bind"}
    assert binds["/etc/resolv.conf"]["source"] == "/etc/resolv.conf"
    assert "ro" in binds["/etc/resolv.conf"]["options"] and "ro" in binds["/etc/hosts"]["options"]


def test_standard_mounts_and_readonly_sys() -> None:
    mounts = {m["destination"]: m for m in _spec()["mounts"]}
    assert {"/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"} <= set(mounts)
    assert "ro" in mounts["/sys"]["options"]
    assert mounts["/dev"]["type"] == "tmpfs"


def test_process_fields() -> None:
    process = _spec(env=["A=1"], cwd="/src")["process"]
    assert process["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 10]}
    assert process["env"] == ["A=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "HOME=/home/app"]
    assert process["cwd"] == "/src"
    assert process["noNewPrivileges"] is True
    assert process["capabilities"]["bounding"] == list(DEFAULT_CAPABILITIES)
    assert "CAP_SYS_ADMIN" not in process["capabilities"]["effective"]
    (nofile,) = process["rlimits"]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    assert nofile["type"] == "RLIMIT_NOFILE" and nofile["hard"] == min(1048576, hard)


def test_primary_group_is_always_in_additional_gids() -> None:
    """As BuildKit (and containerd) do: ``id`` in a RUN shows ``groups=`` with the primary group,
    also for numeric ``USER uid:gid`` with no supplementary groups at all."""
    request = RunRequest(rootfs=Path("/r"), args=["id"])
    bare = runtime_spec(request, rootfs=Path("/r"), user=ExecUser(uid=2300, gid=2400))
    assert bare["process"]["user"]["additionalGids"] == [2400]
    listed = runtime_spec(request, rootfs=Path("/r"), user=ExecUser(uid=1, gid=5, additional_gids=(7, 5)))
    assert listed["process"]["user"]["additionalGids"] == [5, 7]


def test_given_path_and_home_are_kept() -> None:
    env = _spec(env=["PATH=/bin", "HOME=/x"])["process"]["env"]
    assert env == ["PATH=/bin", "HOME=/x"]


def test_extra_mounts() -> None:
    request_mounts = [Mount(target="/cache", source="/host/cache"), Mount(target="/ro", source="/h", readonly=True),
                      Mount(target="/tmp", kind="tmpfs", options=("size=1m",))]
    spec = _spec(mounts=request_mounts)
    mounts = {m["destination"]: m for m in spec["mounts"]}
    assert mounts["/cache"]["options"][:2] == ["rbind", "rw"]
    assert mounts["/ro"]["options"][:2] == ["rbind", "ro"]
    assert mounts["/tmp"] == {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                              "options": ["nosuid", "nodev", "size=1m"]}
    request = RunRequest(rootfs=Path("/r"), args=["true"], network=Network.HOST, mounts=request_mounts)
    assert mount_targets(request)[-5:] == ["/etc/resolv.conf", "/etc/hosts", "/cache", "/ro", "/tmp"]


def test_targets_inside_a_fresh_filesystem_are_not_stub_candidates() -> None:
    """runc makes /dev/pts in the /dev tmpfs and a mount point under a RUN --mount=type=tmpfs in that
    tmpfs, never in the rootfs; a target under a bind (made in the bind's source) or before the
    tmpfs is mounted stays a candidate. (BuildKit's executor/stubs.go MountStubsCleaner looks at
    even fewer: /etc/resolv.conf, /etc/hosts and the step's own mounts.)"""
    request = RunRequest(rootfs=Path("/r"), args=["true"], network=Network.NONE, mounts=[
        Mount(target="/work/cache", source="/c"), Mount(target="/work", kind="tmpfs"),
        Mount(target="/work/inner", source="/i"), Mount(target="/ro", source="/r", readonly=True),
        Mount(target="/ro/deeper", source="/d"), Mount(target="/dev/extra", source="/e")])
    assert mount_targets(request) == ["/proc", "/dev", "/sys", "/work/cache", "/work", "/ro", "/ro/deeper"]

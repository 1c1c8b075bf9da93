"""Rootless mode's pure parts: subordinate id files, id maps, the verb that re-executes, the
network a step gets, and the message when an emulator is not registered."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.cli.main import _verb
from dockyard.errors import HostError
from dockyard.executor import qemu
from dockyard.executor import rootless as rootless_executor
from dockyard.executor.base import Network, RunRequest
from dockyard.executor.rootless import RootlessSandbox
from dockyard.rootless import mode, userns
from dockyard.rootless.mode import IdRange, subordinate_ranges


def test_subordinate_ranges_by_name_and_number(tmp_path: Path) -> None:
    subuid = tmp_path / "subuid"
    name = mode.user_name(os.getuid())
    assert name is not None
    subuid.write_text(f"other:1:5\n{name}:100000:65536\n{os.getuid()}:300000:10\nbad line\n{name}:7:0\n")
    assert subordinate_ranges(subuid, uid=os.getuid()) == [IdRange(100000, 65536), IdRange(300000, 10)]
    assert subordinate_ranges(tmp_path / "missing", uid=os.getuid()) == []
    assert str(IdRange(100000, 65536)) == "100000-165535"


def test_maps_put_the_user_at_zero_and_ranges_after_it() -> None:
    args = userns._map_args(1001, [IdRange(100000, 65536), IdRange(300000, 10)])
    assert args == ["0", "1001", "1", "1", "100000", "65536", "65537", "300000", "10"]


def test_missing_subordinate_ids_say_what_root_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(userns, "SUBUID", tmp_path / "subuid")
    monkeypatch.setattr(userns, "SUBGID", tmp_path / "subgid")
    with pytest.raises(HostError) as err:
        userns.id_maps(os.getuid(), os.getgid())
    assert str(tmp_path / "subuid") in err.value.message
    assert err.value.hint is not None and "usermod --add-subuids" in err.value.hint


@pytest.mark.parametrize(("argv", "verb"), [
    (["build", "."], "build"),
    (["--builder", "x", "du"], "du"),
    (["-D", "prune", "-af"], "prune"),
    (["--builder=x", "version"], "version"),
    (["--help"], None),
])
def test_the_verb_is_found_after_global_options(argv: list[str], verb: str | None) -> None:
    assert _verb(argv) == verb


def _request(network: Network) -> RunRequest:
    return RunRequest(rootfs=Path("/nonexistent"), args=["true"], network=network)


def test_default_network_without_slirp4netns_is_none_and_host_is_refused(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sandbox = RootlessSandbox(tmp_path)
    monkeypatch.setattr(sandbox.network, "available", lambda: False)
    assert sandbox.request(_request(Network.DEFAULT)).network is Network.NONE
    assert sandbox.request(_request(Network.NONE)).network is Network.NONE
    with pytest.raises(HostError, match="needs slirp4netns"):
        sandbox.request(_request(Network.HOST))
    monkeypatch.setattr(sandbox.network, "available", lambda: True)
    assert sandbox.request(_request(Network.HOST)).network is Network.HOST
    assert sandbox.runtime_args() == ["--root", str(tmp_path / "runc"), "--rootless", "true"]


def test_a_networked_step_joins_the_build_namespace_with_its_resolv_conf(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sandbox = RootlessSandbox(tmp_path)
    monkeypatch.setattr(sandbox.network, "namespace", lambda: ("/proc/42/ns/net", tmp_path / "resolv.conf"))
    config = {"linux": {"namespaces": [{"type": "pid"}]},
              "mounts": [{"destination": "/etc/resolv.conf", "type": "bind", "source": "/etc/resolv.conf"},
                         {"destination": "/etc/hosts", "type": "bind", "source": "/etc/hosts"}]}
    out = sandbox.spec(config, _request(Network.DEFAULT))
    assert out["linux"]["namespaces"][-1] == {"type": "network", "path": "/proc/42/ns/net"}
    assert out["mounts"][0]["source"] == str(tmp_path / "resolv.conf")
    assert out["mounts"][1]["source"] == "/etc/hosts"


def test_rootless_unregistered_emulator_names_the_one_time_root_command(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty binfmt_misc (as after a reboot): rootless cannot register, and says who can."""
    monkeypatch.setattr(qemu, "BINFMT", tmp_path)
    monkeypatch.setattr(qemu, "is_rootless", lambda: True)
    with pytest.raises(HostError) as err:
        qemu.ensure("s390x")
    assert err.value.message == (f"cannot run s390x binaries: qemu-s390x is not registered in {tmp_path}, "
                                 "and only root can register it")
    assert err.value.hint is not None
    assert err.value.hint.startswith("as root, once per boot: dockyard inspect --bootstrap")
    assert not list(tmp_path.iterdir())  # nothing was attempted


def test_masked_proc_and_sys_are_bound_and_the_pid_namespace_dropped(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As BuildKit's withBoundProc (executor/oci/spec_linux.go) does for --oci-worker-no-process-sandbox."""
    sandbox = RootlessSandbox(tmp_path)
    config = {"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}]},
              "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                         {"destination": "/sys", "type": "sysfs", "source": "sysfs"}]}
    monkeypatch.setattr(rootless_executor, "kernel_mounts", lambda: rootless_executor.KernelMounts(proc=True, sys=True))
    same = sandbox.spec(json.loads(json.dumps(config)), _request(Network.NONE))
    assert same == config
    monkeypatch.setattr(rootless_executor, "kernel_mounts",
                        lambda: rootless_executor.KernelMounts(proc=False, sys=False))
    out = sandbox.spec(json.loads(json.dumps(config)), _request(Network.NONE))
    assert [ns["type"] for ns in out["linux"]["namespaces"]] == ["mount", "network"]
    assert out["mounts"][0] == {"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]}
    assert out["mounts"][1]["type"] == "bind" and "ro" in out["mounts"][1]["options"]


def test_the_library_refuses_an_ordinary_user_outside_a_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(userns, "needs_reexec", lambda: True)
    with pytest.raises(HostError) as err:
        userns.require_user_namespace()
    assert err.value.hint is not None and "dockyard.rootless.userns.reexec" in err.value.hint
    monkeypatch.setattr(userns, "needs_reexec", lambda: False)
    userns.require_user_namespace()

"""Builds on SSH nodes: network-namespace hosts running Debian's sshd and the checkout's dockyard.

Each node runs RUN steps in its own network namespace, so ``ip -4 addr`` inside a RUN step
names the node that built the platform; skopeo and umoci (not our reader) check the results.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard, inspect_raw, unpack
from tests.integration.builders.conftest import FarmRegistry
from tests.rig.sshnodes import SshFarm, SshHost

pytestmark = pytest.mark.integration

DOCKERFILE = """FROM {base}
RUN ip -4 addr show > /built-on && uname -m > /arch
COPY hello.txt /hello.txt
"""


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    (ctx / "hello.txt").write_text("hello from the client\n")
    return ctx


def _builder(farm: SshFarm, reg: FarmRegistry, name: str, *nodes: tuple[str, SshHost, str],
             bootstrap: bool = False) -> dict[str, str]:
    """Create builder ``name`` with one SSH node per (node name, host, platform); returns the env to use it."""
    env = {"DOCKYARD_SSH_COMMAND": farm.ssh_command}
    for i, (node, host, platform) in enumerate(nodes):
        first = ["--config", str(reg.config)] if i == 0 else ["--append"]
        dockyard("create", "--name", name, *first, *(["--bootstrap"] if bootstrap else []), "--node", node,
                 host.endpoint, "--platform", platform, env=env)
    return env


def two_node_builder(ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
                     name: str) -> tuple[SshFarm, FarmRegistry, dict[str, str]]:
    """Two SSH nodes, ``amd`` (linux/amd64) and ``arm`` (linux/arm64), as builder ``name``, and a registry."""
    farm = ssh_farm(2)
    reg = farm_registry_for(farm)
    amd, arm = farm.hosts
    return farm, reg, _builder(farm, reg, name, ("amd", amd, "linux/amd64"), ("arm", arm, "linux/arm64"))


def test_two_platforms_on_two_ssh_nodes_push_one_index(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(2)
    reg = farm_registry_for(farm)
    amd, arm = farm.hosts
    env = _builder(farm, reg, "farm", ("amd", amd, "linux/amd64"), ("arm", arm, "linux/arm64"))
    ctx = _context(tmp_path, reg.base)
    ref = f"{reg.address}/app:1"
    meta = tmp_path / "meta.json"
    out = dockyard("--builder", "farm", "build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64",
                   "-o", "type=registry,annotation-index.org.example.farm=two-nodes,"
                   "annotation-manifest.org.example.m=1",
                   "-t", ref, "--metadata-file", str(meta), str(ctx), env=env)
    assert "linux/amd64: node amd (ssh://" in out.stderr
    assert "linux/arm64: node arm (ssh://" in out.stderr
    assert "[amd]" in out.stderr and "[arm]" in out.stderr  # the nodes' progress, merged and named

    index = inspect_raw(ref)
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    assert index["annotations"] == {"org.example.farm": "two-nodes"}  # the client's index
    for child in index["manifests"]:  # each node's manifest carries the manifest annotation
        assert inspect_raw(f"{reg.address}/app@{child['digest']}")["annotations"] == {"org.example.m": "1"}
    for arch, host, machine in (("amd64", amd, "x86_64"), ("arm64", arm, "aarch64")):
        rootfs, _config = unpack(ref, arch, tmp_path / "unpacked")
        assert f"inet {host.address}/30" in (rootfs / "built-on").read_text()
        assert (rootfs / "arch").read_text() == f"{machine}\n"
        assert (rootfs / "hello.txt").read_text() == "hello from the client\n"
    doc = json.loads(meta.read_text())
    assert doc["containerimage.digest"] == out.stdout.strip()
    assert {p: n["node"] for p, n in doc["dockyard.nodes"].items()} == {"linux/amd64": "amd", "linux/arm64": "arm"}

    # image bytes travel from each node straight to the registry; only the index comes from the client
    requests = reg.requests()
    layer_puts = {who for who, method, path in requests
                  if method in ("POST", "PATCH", "PUT") and path.startswith("/v2/app/blobs/uploads/")}
    assert layer_puts == {amd.address, arm.address}
    index_puts = [who for who, method, path in requests  # under its tag, the only one (BuildKit's push order)
                  if method == "PUT" and path in (f"/v2/app/manifests/{out.stdout.strip()}", "/v2/app/manifests/1")]
    assert index_puts and set(index_puts) == {farm.registry_address}

    listed = dockyard("ls", "--format", "json", env=env).stdout
    nodes = next(json.loads(line) for line in listed.splitlines() if json.loads(line)["Name"] == "farm")["Nodes"]
    assert [(n["Name"], n["Status"], n["Platforms"], n["Emulated"]) for n in nodes] == [
        ("amd", "running", ["linux/amd64"], []), ("arm", "running", ["linux/arm64"], ["linux/arm64"])]
    assert all(n["Version"].startswith("dockyard ") for n in nodes)



def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _sleeping(host: SshHost) -> bool:
    """True while a ``sleep 600`` RUN step runs in the node's namespace."""
    for pid in host.pids():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"600"]:
                return True
        except OSError:
            continue
    return False


def test_a_node_killed_mid_build_is_skipped_and_the_platform_rebuilt_on_the_next(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(3)
    reg = farm_registry_for(farm)
    first, second, arm = farm.hosts
    env = _builder(farm, reg, "rot", ("first", first, "linux/amd64"), ("second", second, "linux/amd64"),
                   ("arm", arm, "linux/arm64"))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    # the step hangs only on the first node, so the test can kill that node in the middle of it
    (ctx / "Dockerfile").write_text(
        f"FROM {reg.base}\n"
        f"RUN if ip -4 addr | grep -q 'inet {first.address}/'; then sleep 600; fi; ip -4 addr show > /built-on\n")
    ref = f"{reg.address}/rot:1"
    meta = tmp_path / "meta.json"
    argv = [sys.executable, "-m", "dockyard", "--builder", "rot", "build", "--progress", "plain", "--platform",
            "linux/amd64,linux/arm64", "--push", "-t", ref, "--metadata-file", str(meta), str(ctx)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env})
    try:
        _wait_for(lambda: _sleeping(first), "the RUN step on the first node")
        farm.kill(first)  # sshd, the session and dockyard: the node is gone
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "linux/amd64: node first failed (" in stderr and "trying the next node" in stderr
    assert "linux/amd64: node second (ssh://" in stderr
    index = inspect_raw(ref)
    assert sorted(m["platform"]["architecture"] for m in index["manifests"]) == ["amd64", "arm64"]
    rootfs, _ = unpack(ref, "amd64", tmp_path / "unpacked")
    assert f"inet {second.address}/30" in (rootfs / "built-on").read_text()
    nodes = json.loads(meta.read_text())["dockyard.nodes"]
    assert nodes["linux/amd64"]["node"] == "second"
    assert nodes["linux/amd64"]["skipped"][0].startswith("first: ")
    assert stdout.strip() == f"sha256:{index_digest(ref)}"


def index_digest(ref: str) -> str:
    raw = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"], check=True,
                         capture_output=True).stdout
    return hashlib.sha256(raw).hexdigest()


def test_no_node_left_lists_each_reason_and_pushes_nothing(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(2)
    reg = farm_registry_for(farm)
    env = _builder(farm, reg, "dead", ("one", farm.hosts[0], "linux/amd64"), ("two", farm.hosts[1], "linux/amd64"))
    for host in farm.hosts:
        farm.kill(host)
    out = dockyard("--builder", "dead", "build", "--platform", "linux/amd64", "--push", "-t", f"{reg.address}/dead:1",
                   str(_context(tmp_path, reg.base)), env=env, check=False)
    assert out.returncode == 1
    line = next(line for line in out.stderr.splitlines() if line.startswith("error: "))
    assert line.startswith("error: linux/amd64: no node could build it: one: ")
    assert "; two: " in line
    assert "Traceback" not in out.stderr
    tags = subprocess.run(["skopeo", "list-tags", "--tls-verify=false", f"docker://{reg.address}/dead"],
                          capture_output=True, text=True)
    assert tags.returncode != 0 or json.loads(tags.stdout)["Tags"] == []


def test_native_only_without_a_native_node_fails_naming_the_platform(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(1)
    reg = farm_registry_for(farm)
    # this machine is amd64: the node's arm64 runs under qemu, which its bootstrap finds and records
    env = _builder(farm, reg, "emu", ("arm", farm.hosts[0], "linux/arm64"), bootstrap=True)
    shown = dockyard("inspect", "emu", env=env).stdout
    assert "linux/arm64  emulated  verified" in shown
    out = dockyard("--builder", "emu", "build", "--placement", "native-only", "--platform", "linux/arm64",
                   "--push", "-t", f"{reg.address}/emu:1", str(_context(tmp_path, reg.base)), env=env, check=False)
    assert out.returncode == 2
    assert out.stderr.splitlines()[0] == (
        "error: builder 'emu' has no node that builds linux/arm64 natively (only emulated on arm)")
    ok = dockyard("--builder", "emu", "build", "--placement", "prefer-native", "--platform", "linux/arm64",
                  "--push", "-t", f"{reg.address}/emu:1", str(_context(tmp_path, reg.base)), env=env)
    assert "WARNING: linux/arm64 is emulated on node arm: no native node is available" in ok.stderr


def test_incremental_context_sends_only_the_changed_file_and_outputs_stream_back(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(1)
    reg = farm_registry_for(farm)
    env = _builder(farm, reg, "inc", ("n", farm.hosts[0], "linux/amd64"))
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(f"FROM {reg.base}\nCOPY src /src\nRUN cat /src/f0007 > /seven\n")
    for i in range(1000):
        (ctx / "src" / f"f{i:04d}").write_text(f"file {i}\n" * 20)

    def build() -> str:
        out = tmp_path / "out"
        result = dockyard("--builder", "inc", "build", "--progress", "plain", "--platform", "linux/amd64",
                          "-o", f"type=local,dest={out}", str(ctx), env=env)
        assert (out / "seven").read_text() == (ctx / "src" / "f0007").read_text()
        return next(line for line in result.stderr.splitlines() if "context to node n:" in line)

    assert "1001 of 1001 files sent" in build()
    boot = farm.hosts[0].root / "builders" / "inc" / "n" / "boot.json"
    first_boot = json.loads(boot.read_text())["at"]
    (ctx / "src" / "f0007").write_text("changed\n")
    line = build()
    assert "1 of 1001 files sent" in line
    sent = int(line.split("sent, ")[1].split(" bytes")[0])
    assert sent < 200_000  # the manifest (~100 bytes a file) and one 8-byte file, not the ~170 kB context
    assert "0 of 1001 files sent" in build()
    assert json.loads(boot.read_text())["at"] == first_boot  # later sessions reuse the node's bootstrap


def test_ctrl_c_on_the_client_stops_the_step_on_the_node(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(1)
    reg = farm_registry_for(farm)
    node = farm.hosts[0]
    env = _builder(farm, reg, "cc", ("n", node, "linux/amd64"))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {reg.base}\nRUN sleep 600\n")
    proc = subprocess.Popen([sys.executable, "-m", "dockyard", "--builder", "cc", "build", "--progress", "plain",
                             "--push", "-t", f"{reg.address}/cc:1", str(ctx)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        _wait_for(lambda: _sleeping(node), "the RUN step on the node")
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    _wait_for(lambda: not _sleeping(node), "the node's step to stop", timeout=30)
    assert any(Path(f"/proc/{pid}/cmdline").exists() for pid in node.pids())  # the node itself (sshd) lives on


def test_the_node_pushes_with_the_clients_credentials_never_its_own_docker_config(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[..., FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(1)
    reg = farm_registry_for(farm, basic_auth=True)
    node = farm.hosts[0]
    assert reg.user and reg.password

    def docker_config(directory: Path, password: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        auth = base64.b64encode(f"{reg.user}:{password}".encode()).decode()
        (directory / "config.json").write_text(json.dumps({"auths": {reg.address: {"auth": auth}}}))

    client_config = Path(os.environ["DOCKER_CONFIG"])
    docker_config(client_config, reg.password)
    docker_config(node.docker_config, "the-nodes-own-wrong-password")  # used, it would fail with 401
    env = _builder(farm, reg, "auth", ("n", node, "linux/amd64"))
    ref = f"{reg.address}/private:1"
    out = dockyard("--builder", "auth", "build", "--progress", "plain", "--push", "-t", ref,
                   str(_context(tmp_path, reg.base)), env=env)
    assert reg.password not in out.stderr
    # a Basic-only registry has no token to scope: its credentials are shared, in one visible line
    assert f"[n] [auth] sharing credentials for {reg.address}" in out.stderr
    raw = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", "--creds",
                          f"{reg.user}:{reg.password}", f"docker://{ref}"], check=True, capture_output=True).stdout
    assert hashlib.sha256(raw).hexdigest() == out.stdout.strip().removeprefix("sha256:")
    # the node fetched the base and pushed the layers itself, authenticated
    requests = reg.requests()
    assert any(who == node.address and method == "PUT" and path.startswith("/v2/private/blobs/uploads/")
               for who, method, path in requests)
    node_files = [p for p in node.root.rglob("*") if p.is_file()]
    assert not any(reg.password.encode() in p.read_bytes() for p in node_files)  # nothing kept on the node


def test_a_failing_step_fails_the_build_without_rotating(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(2)
    reg = farm_registry_for(farm)
    env = _builder(farm, reg, "bad", ("one", farm.hosts[0], "linux/amd64"), ("two", farm.hosts[1], "linux/amd64"))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {reg.base}\nRUN echo about to fail; exit 3\n")
    out = dockyard("--builder", "bad", "build", "--progress", "plain", "--push", "-t", f"{reg.address}/bad:1",
                   str(ctx), env=env, check=False)
    assert out.returncode == 1
    error = next(line for line in out.stderr.splitlines() if line.startswith("error: "))
    # the step's failure, as a local build reports it (any node would fail the same way): no rotation
    assert error.startswith(f"error: node one: {ctx / 'Dockerfile'}:2: ")
    assert error.endswith("process did not complete successfully: exit code 3")
    assert "trying the next node" not in out.stderr and "node two" not in out.stderr
    assert "about to fail" in out.stderr  # the node's step output reached the client's display

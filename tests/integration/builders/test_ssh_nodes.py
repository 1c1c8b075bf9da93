"""Builds on SSH nodes: network-namespace hosts running Debian's sshd and the checkout's dockyard.

Each node runs RUN steps in its own network namespace, so ``ip -4 addr`` inside a RUN step
names the node that built the platform; skopeo and umoci (not our reader) check the results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard, inspect_raw, unpack
from tests.integration.builders.conftest import FarmRegistry
from tests.rig.sshnodes import SshFarm

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


def _env(farm: SshFarm) -> dict[str, str]:
    return {"DOCKYARD_SSH_COMMAND": farm.ssh_command}


def test_two_platforms_on_two_ssh_nodes_push_one_index(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(2)
    reg = farm_registry_for(farm)
    amd, arm = farm.hosts
    env = _env(farm)
    dockyard("create", "--name", "farm", "--config", str(reg.config), "--node", "amd", amd.endpoint,
             "--platform", "linux/amd64", env=env)
    dockyard("create", "--name", "farm", "--append", "--node", "arm", arm.endpoint, "--platform", "linux/arm64",
             env=env)
    ctx = _context(tmp_path, reg.base)
    ref = f"{reg.address}/app:1"
    meta = tmp_path / "meta.json"
    out = dockyard("--builder", "farm", "build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64",
                   "--push", "-t", ref, "--metadata-file", str(meta), str(ctx), env=env)
    assert "linux/amd64: node amd (ssh://" in out.stderr
    assert "linux/arm64: node arm (ssh://" in out.stderr
    assert "[amd]" in out.stderr and "[arm]" in out.stderr  # the nodes' progress, merged and named

    index = inspect_raw(ref)
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
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
    index_puts = [who for who, method, path in requests
                  if method == "PUT" and path == f"/v2/app/manifests/{out.stdout.strip()}"]
    assert index_puts and set(index_puts) == {farm.registry_address}

    listed = dockyard("ls", "--format", "json", env=env).stdout
    nodes = next(json.loads(line) for line in listed.splitlines() if json.loads(line)["Name"] == "farm")["Nodes"]
    assert [(n["Name"], n["Status"], n["Platforms"], n["Emulated"]) for n in nodes] == [
        ("amd", "running", ["linux/amd64"], []), ("arm", "running", ["linux/arm64"], ["linux/arm64"])]
    assert all(n["Version"].startswith("dockyard ") for n in nodes)


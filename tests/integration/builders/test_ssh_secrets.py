"""``--secret`` on SSH nodes: the value travels in the solve frame, reaches the RUN step on each node,
and is written nowhere: no layer, log, metadata, registry blob or file under either node's store.

The secret comes from the client's environment (``env=``), so no file holding it exists anywhere
under the test's directory: a scan of every file there (gzip blobs decompressed) must not find it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard, unpack
from tests.integration.builders.conftest import FarmRegistry
from tests.integration.builders.test_ssh_nodes import _builder
from tests.rig.sshnodes import SshFarm

pytestmark = pytest.mark.integration

DOCKERFILE = """FROM {base}
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha && uname -m > /arch
RUN --mount=type=secret,id=token,env=TOKEN,required=true echo "${{#TOKEN}}" > /token.len
"""


def _plain(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return data
    return data


def _files_holding(root: Path, marker: bytes) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            try:
                if marker in _plain(path):
                    found.append(path)
            except OSError:
                continue
    return found


def test_a_secret_reaches_the_step_on_each_node_and_is_written_nowhere(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(2)
    reg = farm_registry_for(farm)
    amd, arm = farm.hosts
    env = _builder(farm, reg, "secrets", ("amd", amd, "linux/amd64"), ("arm", arm, "linux/arm64"))
    marker = f"dy-secret-{uuid.uuid4().hex}"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=reg.base))
    ref, meta = f"{reg.address}/secret-app:1", tmp_path / "meta.json"
    out = dockyard("--builder", "secrets", "build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64",
                   "--secret", "id=token,env=DY_TEST_TOKEN", "--push", "-t", ref, "--metadata-file", str(meta),
                   str(ctx), env={**env, "DY_TEST_TOKEN": marker})
    assert "linux/amd64: node amd" in out.stderr and "linux/arm64: node arm" in out.stderr
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, _config = unpack(ref, arch, tmp_path / "unpacked")
        assert (rootfs / "arch").read_text() == f"{machine}\n"  # built on its node ...
        assert (rootfs / "token.sha").read_text() == hashlib.sha256(marker.encode()).hexdigest() + "\n"  # ... with it
        assert (rootfs / "token.len").read_text() == f"{len(marker)}\n"  # the env= form too
    assert marker not in out.stderr + out.stdout
    assert marker not in meta.read_text()
    assert json.loads(meta.read_text())["dockyard.nodes"]["linux/arm64"]["node"] == "arm"
    # registry storage, both nodes' stores and logs, the client's store, the unpacked images: nowhere
    assert _files_holding(tmp_path, marker.encode()) == []
    # (the scan does read compressed layers: the step's output, the secret's digest, is found in them)
    digest = hashlib.sha256(marker.encode()).hexdigest().encode()
    holding = _files_holding(tmp_path, digest)
    assert any("farm-registry" in str(p) and "blobs" in str(p) for p in holding)
    assert any(str(p).startswith(f"{amd.root}/") for p in holding)
    # no mount or file of the step's tmpfs is left on either node
    mounts = Path("/proc/self/mountinfo").read_text()
    assert f"{amd.root}/" not in mounts and f"{arm.root}/" not in mounts


def test_ssh_forwarding_to_a_remote_node_is_refused_in_one_line(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm = ssh_farm(1)
    reg = farm_registry_for(farm)
    env = _builder(farm, reg, "nossh", ("amd", farm.hosts[0], "linux/amd64"))
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {reg.base}\nRUN --mount=type=ssh true\n")
    out = dockyard("--builder", "nossh", "build", "--ssh", f"default={tmp_path / 'agent.sock'}", str(ctx),
                   env=env, check=False)
    assert out.returncode != 0
    assert "--ssh (agent forwarding) is not carried to remote nodes" in out.stderr
    assert "Traceback" not in out.stderr

"""``--secret`` and ``--ssh`` on SSH nodes. A secret's value travels in the solve frame, reaches the
RUN step on each node, and is written nowhere: no layer, log, metadata, registry blob or file under
either node's store. The client's SSH agent answers a step on a node through the session's frames.

The secret comes from the client's environment (``env=``), so no file holding it exists anywhere
under the test's directory: a scan of every file there (gzip blobs decompressed) must not find it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard, unpack
from tests.integration.builders.conftest import FarmRegistry
from tests.integration.builders.test_ssh_nodes import _builder, two_node_builder
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
    farm, reg, env = two_node_builder(ssh_farm, farm_registry_for, "secrets")
    amd, arm = farm.hosts
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


def _ssh_add_tools(dest: Path) -> None:
    """The host's ssh-add with its libraries and loader (the busybox base has no SSH client)."""
    dest.mkdir()
    out = subprocess.run(["ldd", "/usr/bin/ssh-add"], check=True, capture_output=True, text=True).stdout
    for path in re.findall(r"(/\S+\.so[.\d]*)", out):
        shutil.copy(path, dest / Path(path).name)
    shutil.copy("/usr/bin/ssh-add", dest / "ssh-add")


def test_the_clients_ssh_agent_answers_a_step_on_a_remote_node(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    """session/sshforward/ssh.go ``MountSSHSocket``: a socket on the worker, each connection relayed to
    the client's agent. The step lists the client's key through it; the key itself stays in the agent."""
    farm = ssh_farm(1)
    reg = farm_registry_for(farm)
    env = _builder(farm, reg, "agent", ("amd", farm.hosts[0], "linux/amd64"))
    comment = f"dy-agent-key-{uuid.uuid4().hex[:12]}"
    key = tmp_path / "agent-key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)], check=True)
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run(["ssh-add", "-q", str(key)], check=True, env={**os.environ, "SSH_AUTH_SOCK": str(sock)})
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        _ssh_add_tools(ctx / "tools")
        (ctx / "Dockerfile").write_text(
            f"FROM {reg.base}\n"
            "RUN --mount=type=bind,source=tools,target=/tools --mount=type=ssh "
            "/tools/ld-linux-x86-64.so.2 --library-path /tools /tools/ssh-add -l > /keys\n")
        ref = f"{reg.address}/agent-app:1"
        out = dockyard("--builder", "agent", "build", "--progress", "plain", "--platform", "linux/amd64",
                       "--ssh", f"default={sock}", "--push", "-t", ref, str(ctx), env=env)
        assert "linux/amd64: node amd" in out.stderr
    finally:
        agent.kill()
        agent.wait()
    rootfs, _config = unpack(ref, "amd64", tmp_path / "unpacked")
    fingerprint = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], check=True, capture_output=True,
                                 text=True).stdout.split()[1]
    listed = (rootfs / "keys").read_text()
    assert fingerprint in listed and comment in listed
    private = key.read_text().splitlines()[3]  # a line of the private key's base64 (line 1 is a common header)
    assert _files_holding(tmp_path / "farm0", private.encode()) == []
    assert f"{farm.hosts[0].root}/" not in Path("/proc/self/mountinfo").read_text()

"""Builder tests choose the builder themselves (no inherited DOCKYARD_BUILDER/BUILDX_BUILDER); SSH
node tests get a farm of network-namespace hosts (tests/rig/sshnodes.py) and a registry they reach."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard import localregistry
from tests.rig import sshnodes
from tests.rig.registries import PASSWORD, USER
from tests.rig.sshnodes import SshFarm


@pytest.fixture(autouse=True)
def _no_builder_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_BUILDER", raising=False)
    monkeypatch.delenv("BUILDX_BUILDER", raising=False)


@pytest.fixture
def ssh_farm(tmp_path: Path) -> Iterator[Callable[[int], SshFarm]]:
    """Start N SSH nodes (network namespaces with sshd); all are removed after the test."""
    farms: list[SshFarm] = []

    def start(count: int) -> SshFarm:
        if os.geteuid() != 0:
            pytest.fail("SSH node tests need root (network namespaces, sshd)")
        farm = sshnodes.start_farm(tmp_path / f"farm{len(farms)}", count)
        farms.append(farm)
        return farm

    yield start
    for farm in farms:
        farm.stop()


@dataclass
class FarmRegistry:
    """A registry on the host side of a farm (reachable from every node), holding the busybox base."""

    address: str
    base: str
    log: Path
    config: Path  # a builder config marking the registry plain HTTP
    user: str | None = None  # set when the registry wants Basic auth
    password: str | None = None

    def requests(self) -> list[tuple[str, str, str]]:
        """(client address, method, path) of each request in the access log."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            m = re.match(r'^(\S+) - \S+ \[[^]]+\] "(\S+) (\S+)', line)
            if m:
                out.append((m.group(1), m.group(2), m.group(3)))
        return out


@pytest.fixture
def farm_registry_for(tmp_path: Path, busybox_base: str) -> Iterator[Callable[..., FarmRegistry]]:
    """``start(farm, basic_auth=False)``: the registry; with Basic auth it has one user (USER/PASSWORD)."""
    running: list[localregistry.RunningRegistry] = []

    def start(farm: SshFarm, *, basic_auth: bool = False) -> FarmRegistry:
        work = tmp_path / f"farm-registry{len(running)}"
        work.mkdir(parents=True)
        htpasswd = None
        if basic_auth:
            htpasswd = work / "htpasswd"
            subprocess.run(["htpasswd", "-Bbc", str(htpasswd), USER, PASSWORD], check=True, capture_output=True)
        config = localregistry.RegistryConfig(port=localregistry.free_port(), storage=work / "storage", rundir=work,
                                              host=farm.registry_address, accesslog=True, htpasswd=htpasswd)
        reg = localregistry.start(config)
        running.append(reg)
        base = f"{reg.address}/busybox:latest"
        creds = ["--dest-creds", f"{USER}:{PASSWORD}"] if basic_auth else []
        subprocess.run(["skopeo", "copy", "--all", "-q", "--src-tls-verify=false", "--dest-tls-verify=false", *creds,
                        f"docker://{busybox_base}", f"docker://{base}"], check=True, capture_output=True)
        builder_config = work / "buildkitd.toml"
        builder_config.write_text(f'[registry."{reg.address}"]\nhttp = true\n')
        if basic_auth:
            return FarmRegistry(reg.address, base, reg.log, builder_config, USER, PASSWORD)
        return FarmRegistry(reg.address, base, reg.log, builder_config)

    yield start
    for reg in running:
        localregistry.stop_pid(reg.pid)

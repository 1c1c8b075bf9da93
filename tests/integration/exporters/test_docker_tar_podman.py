"""Docker archives loaded by podman: names, image ID (= our iidfile), platform, and a run."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.executor import qemu
from dockyard.exporters import export
from dockyard.exporters.metadata import describe, write_iidfile
from dockyard.exporters.output import DockerOutput
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import platform_images
from dockyard.platform import Platform
from dockyard.store.content import ContentStore
from tests.integration.exporters.toolcheck import run

pytestmark = pytest.mark.integration


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[list[str]]:
    """podman with its own storage (vfs) under tmp_path and runc; its runroot must be a short path."""
    runroot = tempfile.mkdtemp(prefix="dy-podman-", dir="/tmp")
    docker_config = Path(os.environ["DOCKER_CONFIG"])  # the test's own, which podman reads when running
    docker_config.mkdir(parents=True, exist_ok=True)
    (docker_config / "config.json").write_text("{}")
    yield ["podman", "--root", str(tmp_path / "podman-root"), "--runroot", runroot,
           "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none",
           "--runtime", "runc"]
    _wait_for_cleanup(runroot)
    shutil.rmtree(runroot, ignore_errors=True)


def _wait_for_cleanup(runroot: str, *, timeout: float = 10.0) -> None:
    """conmon runs ``podman container cleanup`` after a container exits, and that process
    recreates the runroot: wait until no process names it before removing it."""
    deadline = time.monotonic() + timeout
    needle = runroot.encode()
    while time.monotonic() < deadline:
        busy = False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                busy = busy or needle in cmdline.read_bytes()
            except OSError:
                continue
        if not busy:
            return
        time.sleep(0.1)


# This host's hard limits are below podman's defaults: ask for ones runc may set.
_RUN = ["run", "--rm", "--pull", "never", "--network", "none",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def test_podman_loads_and_runs_the_host_image(pulled_busybox: tuple[ContentStore, Descriptor],
                                              podman: list[str], tmp_path: Path) -> None:
    store, top = pulled_busybox
    archive = tmp_path / "img.tar"
    names = ("127.0.0.1:5000/exported:1", "127.0.0.1:5000/exported:latest")
    export(DockerOutput(dest=archive, names=names), store, top, platform_host=Platform.parse("linux/amd64"))
    run(*podman, "load", "-i", str(archive))
    info = json.loads(run(*podman, "image", "inspect", names[0]))[0]
    amd64 = next(i for i in platform_images(store, top) if i.platform.architecture == "amd64")
    iid = tmp_path / "iid"
    write_iidfile(iid, describe(store, amd64.descriptor, names=names))
    assert "sha256:" + info["Id"] == iid.read_text() == str(amd64.manifest.config.digest)
    assert sorted(info["RepoTags"]) == sorted(names)
    assert info["Architecture"] == "amd64"
    assert run(*podman, *_RUN, names[0], "uname", "-m").strip() == "x86_64"


def test_podman_runs_the_arm64_image_under_qemu(pulled_busybox: tuple[ContentStore, Descriptor],
                                                binfmt_arm64: qemu.Emulator, podman: list[str],
                                                tmp_path: Path) -> None:
    store, top = pulled_busybox
    archive = tmp_path / "arm.tar"
    export(DockerOutput(dest=archive, names=("arm:1",)), store, top, platform_host=Platform.parse("linux/arm64"))
    run(*podman, "load", "-i", str(archive))
    info = json.loads(run(*podman, "image", "inspect", "arm:1"))[0]
    assert info["Architecture"] == "arm64"
    assert run(*podman, *_RUN, "--arch", "arm64", "arm:1", "uname", "-m").strip() == "aarch64"

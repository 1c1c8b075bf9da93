"""A build with ``--builder NAME`` uses that builder's config: its registry mirror serves FROM."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def test_builder_mirror_serves_docker_hub_images(busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    # the mirror holds docker.io's library/busybox; the machine has no route to Docker Hub at all
    subprocess.run(["skopeo", "copy", "--all", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{busybox_base}", f"docker://{registry.address}/library/busybox:latest"],
                   check=True, capture_output=True)
    config = tmp_path / "buildkitd.toml"
    config.write_text(f'[worker.oci]\nmax-parallelism = 1\n[registry."docker.io"]\nmirrors = ["{registry.address}"]\n')
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo from-mirror > /m\n")
    without = dockyard("build", "--progress", "quiet", str(ctx), check=False, timeout=120)
    assert without.returncode != 0
    assert "registry-1.docker.io" in without.stderr or "docker.io" in without.stderr
    dockyard("create", "--name", "mirrored", "--config", str(config))
    out = dockyard("--builder", "mirrored", "build", "--progress", "plain", "-o", f"type=local,dest={tmp_path}/out",
                   str(ctx))
    assert (tmp_path / "out" / "m").read_text() == "from-mirror\n"
    assert "#" in out.stderr

"""Issue 6's headline: a two-stage, two-platform build pushed as one index to a Bearer-auth registry;
reproducible digests with SOURCE_DATE_EPOCH; layers shared across platforms; a failed push moves no tag."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dockyard import localregistry
from dockyard.executor import qemu
from tests.integration.build.buildrig import dockyard, inspect_raw, unpack
from tests.rig.registries import TestRegistry, start_anonymous

pytestmark = pytest.mark.integration

TWO_STAGE = """\
ARG BASE
FROM --platform=$BUILDPLATFORM $BASE AS build
ARG TARGETPLATFORM
WORKDIR /out
COPY message.txt .
RUN echo "for $TARGETPLATFORM" >> message.txt && uname -m > built-on

FROM $BASE
COPY --from=build /out/ /app/
RUN uname -m > /app/machine
CMD ["cat", "/app/machine"]
"""


def _context(root: Path, base: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(TWO_STAGE)
    (root / "message.txt").write_text("hello\n")
    return root


def test_two_stage_two_platform_push_to_bearer_registry(
    busybox_base: str, token_registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path
) -> None:
    assert token_registry.username is not None and token_registry.password is not None
    login = subprocess.run([sys.executable, "-m", "dockyard", "login", "-u", token_registry.username,
                            "--password-stdin", token_registry.address], input=token_registry.password,
                           capture_output=True, text=True, check=False)
    assert login.returncode == 0, login.stderr
    ctx = _context(tmp_path / "ctx", busybox_base)
    ref = f"{token_registry.address}/team/app:1.0"
    meta = tmp_path / "meta.json"
    dockyard("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "--build-arg",
             f"BASE={busybox_base}", "-t", ref, "--push", "--metadata-file", str(meta), str(ctx))
    creds = f"{token_registry.username}:{token_registry.password}"
    index = inspect_raw(ref, creds=creds)
    platforms = {(m["platform"]["architecture"], m["platform"].get("variant")) for m in index["manifests"]}
    assert platforms == {("amd64", None), ("arm64", None)}  # containerd normalizeArch: no v8
    recorded = json.loads(meta.read_text())
    assert recorded["image.name"] == ref
    assert recorded["containerimage.descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, _ = unpack(ref, arch, tmp_path / "v", creds=creds)
        assert (rootfs / "app" / "machine").read_text().strip() == machine
        # the build stage ran natively (BUILDPLATFORM) once per target
        assert (rootfs / "app" / "built-on").read_text().strip() == "x86_64"
        target = "linux/arm64" if arch == "arm64" else "linux/amd64"
        assert (rootfs / "app" / "message.txt").read_text() == f"hello\nfor {target}\n"


def _index_digest(out: subprocess.CompletedProcess[str]) -> str:
    return out.stdout.strip().splitlines()[-1]


def test_reproducible_index_and_shared_layers(busybox_base: str, tmp_path: Path) -> None:
    dockerfile = f"FROM {busybox_base}\nCOPY app/ /app/\nRUN echo built > /app/stamp\n"
    digests = []
    layouts = []
    for n in range(2):
        ctx = tmp_path / f"checkout{n}"
        (ctx / "app").mkdir(parents=True)
        (ctx / "Dockerfile").write_text(dockerfile)
        (ctx / "app" / "a.txt").write_text("same content\n")
        # checkouts made at different times (both after SOURCE_DATE_EPOCH, as a git checkout is)
        stamp = time.time() - n * 1000
        os.utime(ctx / "app" / "a.txt", (stamp, stamp))
        layout = tmp_path / f"out{n}"
        out = dockyard("build", "--progress", "quiet", "--platform", "linux/amd64,linux/arm64",
                       "-o", f"type=oci,dest={layout},tar=false", str(ctx),
                       env={"SOURCE_DATE_EPOCH": "1700000000", "DOCKYARD_ROOT": str(tmp_path / f"root{n}")})
        digests.append(_index_digest(out))
        layouts.append(layout)
        time.sleep(1.1)  # different wall-clock times for the two builds
    assert digests[0] == digests[1]
    index = json.loads((layouts[0] / "blobs" / "sha256" / digests[0].split(":")[1]).read_bytes())
    copy_layers = []
    for entry in index["manifests"]:
        manifest = json.loads((layouts[0] / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes())
        copy_layers.append(manifest["layers"][1]["digest"])  # base layer, then the COPY layer
    assert copy_layers[0] == copy_layers[1], "the COPY layer is the same on both platforms"


def test_failed_push_moves_no_tag(busybox_base: str, tmp_path: Path) -> None:
    reg = start_anonymous(tmp_path / "reg")
    try:
        ref = f"{reg.address}/app:stable"
        small = _context(tmp_path / "small", busybox_base)
        dockyard("build", "--progress", "quiet", "--build-arg", f"BASE={busybox_base}", "-t", ref, "--push",
                 str(small))
        before = hashlib.sha256(subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True,
            capture_output=True).stdout).hexdigest()
        big = tmp_path / "big"
        big.mkdir()
        (big / "Dockerfile").write_text(f"FROM {busybox_base}\nCOPY blob /blob\n")
        with open(big / "blob", "wb") as f:
            f.write(os.urandom(300 * 2**20))
        proc = subprocess.Popen([sys.executable, "-m", "dockyard", "build", "--progress", "plain", "-t", ref,
                                 "--push", str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        uploads = reg.running.storage / "docker" / "registry" / "v2" / "repositories" / "app" / "_uploads"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (uploads.is_dir() and any(uploads.iterdir())):
            time.sleep(0.02)
        assert uploads.is_dir(), "the push never started an upload"
        localregistry.stop_pid(reg.running.pid, timeout=2)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode != 0
        assert err.strip().splitlines()[-2:][0].startswith("error: ") or "error: " in err
        assert "Traceback" not in err
        restarted = localregistry.start(localregistry.RegistryConfig(
            port=reg.running.port, storage=reg.running.storage, rundir=tmp_path / "reg"))
        try:
            after = httpx.get(f"http://{reg.address}/v2/app/manifests/stable",
                              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
            assert after.status_code == 200
            assert hashlib.sha256(after.content).hexdigest() == before
        finally:
            localregistry.stop_pid(restarted.pid)
    finally:
        localregistry.stop_pid(reg.running.pid)
        shutil.rmtree(big, ignore_errors=True)

"""Platforms named as BuildKit names them, built for real (runc, qemu-aarch64) and read with skopeo/umoci.

BuildKit parses ``--platform`` with containerd/platforms (``Parse`` -> database.go ``normalizeArch``:
``arm64/v8`` is ``arm64`` with no variant) and derives the automatic ARGs from that normal form
(frontend/dockerfile/dockerfile2llb/platform.go ``defaultArgs``: TARGETPLATFORM is
``platforms.FormatAll``, TARGETVARIANT the variant). The exporter writes the same platform into the
index entry and the image config, so buildx pushes ``linux/arm64`` without a variant.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dockyard.executor import qemu
from tests.integration.build.buildrig import build_push, inspect_raw, unpack
from tests.rig import baseimage
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

PROBE = """\
ARG BASE
FROM $BASE
ARG TARGETPLATFORM TARGETVARIANT TARGETARCH
RUN case "$TARGETPLATFORM" in linux/arm64) echo arm64-case ;; *) echo "other:$TARGETPLATFORM" ;; esac > /case \\
 && echo "[$TARGETVARIANT] $TARGETARCH" > /variant && uname -m > /machine
"""


def test_arm64_v8_is_linux_arm64_without_variant_from_a_v8_base(
    registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path
) -> None:
    # the base's index entry says arm64/v8 (umoci-made, skopeo-pushed): matching must still find it
    layout = tmp_path / "layout"
    baseimage.build_layout(layout, "latest")
    base = f"{registry.address}/platnames/busybox-v8:latest"
    baseimage.push_layout(layout, "latest", base)
    assert {m["platform"].get("variant") for m in inspect_raw(base)["manifests"]} == {None, "v8"}

    ref = f"{registry.address}/platnames/probe:1"
    build_push(PROBE, ref, platforms="linux/arm64/v8,linux/amd64", base=base, workdir=tmp_path)

    entries = {m["platform"]["architecture"]: m["platform"] for m in inspect_raw(ref)["manifests"]}
    assert entries["arm64"] == {"architecture": "arm64", "os": "linux"}  # no "variant": "v8"
    rootfs, _ = unpack(ref, "arm64", tmp_path / "u")
    assert (rootfs / "case").read_text() == "arm64-case\n"
    assert (rootfs / "variant").read_text() == "[] arm64\n"
    assert (rootfs / "machine").read_text() == "aarch64\n"


@pytest.mark.parametrize("spelling", ["arm64", "linux/aarch64/v8"])
def test_every_arm64_spelling_writes_the_same_config(
    busybox_base: str, registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path, spelling: str
) -> None:
    ref = f"{registry.address}/platnames/spelling:{spelling.replace('/', '-')}"
    build_push(PROBE, ref, platforms=spelling, base=busybox_base, workdir=tmp_path)
    cfg = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--override-arch", "arm64", "--config",
                          f"docker://{ref}"], check=True, capture_output=True, text=True).stdout
    doc = json.loads(cfg)
    assert (doc["architecture"], doc["os"], doc.get("variant")) == ("arm64", "linux", None)

"""The platforms of one build copy the same context files into the same new tree: the COPY's layer
is archived and compressed once and shared (issue 17; a 50 MB COPY was compressed per platform).

A two-platform build through ``dockyard.build`` with the archiver counted: one archive for the
COPY, both platforms' manifests in the exported OCI layout name the same layer, and a RUN after it on
each platform read the copied files (the shared layer was unpacked under each platform's own
stack), checked in the images skopeo and umoci unpack.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import dockyard
from dockyard.engine import worker
from dockyard.executor import qemu
from dockyard.oci.layer import LayerBlob, LayerOptions, make_layer_of
from dockyard.oci.tarfs import TarEntry

pytestmark = pytest.mark.integration


def _unpack(layout: Path, arch: str, dest: Path) -> Path:
    """skopeo picks ``arch``'s image out of the layout's index, umoci unpacks it: the rootfs."""
    single = dest / "layout"
    dest.mkdir()
    subprocess.run(["skopeo", "copy", "-q", "--override-arch", arch, "--override-os", "linux", f"oci:{layout}",
                    f"oci:{single}:img"], check=True, capture_output=True)
    subprocess.run(["umoci", "unpack", "--image", f"{single}:img", str(dest / "bundle")], check=True,
                   capture_output=True)
    return dest / "bundle" / "rootfs"


def _manifest(layout: Path, digest: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_text())
    return data


def test_a_copy_layer_is_archived_once_for_every_platform(busybox_base: str, binfmt_arm64: qemu.Emulator,
                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "big.bin").write_bytes(os.urandom(4 << 20))
    (ctx / "src" / "small.txt").write_text("small\n")
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nCOPY src/ /app/\n"
                                    "RUN wc -c < /app/big.bin > /app/size && cat /app/small.txt >> /app/size\n")
    archived: list[int] = []

    def counted(entries: Iterable[TarEntry], dest_dir: str | os.PathLike[str], *, options: LayerOptions) -> LayerBlob:
        listed = list(entries)
        archived.append(len(listed))
        return make_layer_of(listed, dest_dir, options=options)

    monkeypatch.setattr(worker, "make_layer_of", counted)
    layout = tmp_path / "layout"
    dockyard.build(ctx, platforms=["linux/amd64", "linux/arm64"], outputs=f"type=oci,dest={layout},tar=false")
    assert len(archived) == 1  # one COPY, two platforms: archived once
    index = json.loads((layout / "index.json").read_text())
    [top] = index["manifests"]
    platforms = _manifest(layout, top["digest"])["manifests"]
    copy_layers = {_manifest(layout, m["digest"])["layers"][-2]["digest"] for m in platforms}
    assert len(platforms) == 2 and len(copy_layers) == 1  # the same COPY layer under both platforms
    for arch in ("amd64", "arm64"):
        rootfs = _unpack(layout, arch, tmp_path / f"unpacked-{arch}")
        assert (rootfs / "app" / "size").read_text().split() == [str(4 << 20), "small"]

"""Which way a COPY from the context is made, and what the platforms of one build share (issue 17).

- A COPY nothing later reads (the image's last file-system step) is archived straight from the
  context, and the platforms of a build copy the same files into the same new tree: the layer is
  archived and compressed once and both platforms' manifests name it (a 50 MB COPY was compressed
  once per platform).
- A COPY a later step reads (a RUN mounts it) is copied through the overlay instead: archiving it
  from the context and then unpacking that layer for the RUN cost more (edit1: ~0.3 s of
  unpacking per platform). The RUN still sees the files on both platforms, and the COPY's diff,
  the same on both, is archived once: by the first platform, from its snapshot; the other
  platform's snapshot links the first one's files instead of copying them again. Every copy reads
  the files its key hashed or fails (dockyard.engine.contextcheck), so the linked copy is the
  key's on every platform.

Two-platform builds through ``dockyard.build`` with the context archiver counted; the exported OCI
layout is read back with skopeo and umoci.
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
from dockyard.oci.layer import LayerBlob, LayerOptions, make_layer, make_layer_of
from dockyard.oci.tarfs import TarEntry

pytestmark = pytest.mark.integration

BIG = 4 << 20


def _unpack(layout: Path, arch: str, dest: Path) -> Path:
    """skopeo picks ``arch``'s image out of the layout's index, umoci unpacks it: the rootfs."""
    single = dest / "layout"
    dest.mkdir()
    subprocess.run(["skopeo", "copy", "-q", "--override-arch", arch, "--override-os", "linux", f"oci:{layout}",
                    f"oci:{single}:img"], check=True, capture_output=True)
    subprocess.run(["umoci", "unpack", "--image", f"{single}:img", str(dest / "bundle")], check=True,
                   capture_output=True)
    return dest / "bundle" / "rootfs"


def _blob(layout: Path, digest: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_text())
    return data


def _build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dockerfile: str) -> tuple[Path, list[int], list[int]]:
    """Build ``dockerfile`` (over a context with a 4 MiB file) for two platforms into an OCI layout;
    returns the layout, the entry counts of every layer archived straight from the context and the
    tar sizes of every layer archived from a step's diff."""
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "big.bin").write_bytes(os.urandom(BIG))
    (ctx / "src" / "small.txt").write_text("small\n")
    (ctx / "Dockerfile").write_text(dockerfile)
    archived: list[int] = []

    def counted(entries: Iterable[TarEntry], dest_dir: str | os.PathLike[str], *, options: LayerOptions) -> LayerBlob:
        listed = list(entries)
        archived.append(len(listed))
        return make_layer_of(listed, dest_dir, options=options)

    diffs: list[int] = []

    def diff_counted(source: str | os.PathLike[str], dest_dir: str | os.PathLike[str], *,
                     options: LayerOptions) -> LayerBlob:
        blob = make_layer(source, dest_dir, options=options)
        diffs.append(blob.uncompressed_size)
        return blob

    monkeypatch.setattr(worker, "make_layer_of", counted)
    monkeypatch.setattr(worker, "make_layer", diff_counted)
    layout = tmp_path / "layout"
    dockyard.build(ctx, platforms=["linux/amd64", "linux/arm64"], outputs=f"type=oci,dest={layout},tar=false")
    return layout, archived, diffs


def _layers(layout: Path) -> list[list[str]]:
    """Each platform's layer digests, in the index's order."""
    [top] = json.loads((layout / "index.json").read_text())["manifests"]
    return [[layer["digest"] for layer in _blob(layout, m["digest"])["layers"]]
            for m in _blob(layout, top["digest"])["manifests"]]


def test_a_last_copy_is_archived_once_for_every_platform(busybox_base: str, binfmt_arm64: qemu.Emulator,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout, archived, _ = _build(tmp_path, monkeypatch, f"FROM {busybox_base}\nCOPY src/ /app/\n")
    assert archived == [3]  # /app/ and its two files: archived once for both platforms
    amd64, arm64 = _layers(layout)
    assert amd64[-1] == arm64[-1] and amd64[:-1] != arm64[:-1]  # the same COPY layer over different bases
    for arch in ("amd64", "arm64"):
        rootfs = _unpack(layout, arch, tmp_path / f"unpacked-{arch}")
        assert (rootfs / "app" / "big.bin").stat().st_size == BIG
        assert (rootfs / "app" / "small.txt").read_text() == "small\n"


def test_a_copy_a_later_step_reads_goes_through_the_overlay(busybox_base: str, binfmt_arm64: qemu.Emulator,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout, archived, diffs = _build(tmp_path, monkeypatch, f"FROM {busybox_base}\nCOPY src/ /app/\n"
                                     "RUN wc -c < /app/big.bin > /app/size && cat /app/small.txt >> /app/size\n")
    assert archived == []  # the RUN mounts the COPY's snapshot: made by copying, not unpacked from an archive
    assert len([size for size in diffs if size > BIG]) == 1  # one platform's COPY diff archived, for both
    amd64, arm64 = _layers(layout)
    assert amd64[-2] == arm64[-2]  # the COPY's diff is the same bytes on both platforms all the same
    for arch in ("amd64", "arm64"):
        rootfs = _unpack(layout, arch, tmp_path / f"unpacked-{arch}")
        assert (rootfs / "app" / "size").read_text().split() == [str(BIG), "small"]


def test_the_second_platform_links_the_first_platforms_copy(busybox_base: str, binfmt_arm64: qemu.Emulator,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            dockyard_root: Path) -> None:
    """Equal copies read unchanged: the files are copied once, and the other platform's COPY snapshot
    holds hard links to them (dockyard.engine.difflink); its RUN and its image see the same files."""
    from dockyard.engine import copy

    original = copy.copy_into
    copies: list[int] = []

    def counted(**kwargs: Any) -> Any:
        copies.append(1)
        return original(**kwargs)

    monkeypatch.setattr(copy, "copy_into", counted)
    layout, _, _ = _build(tmp_path, monkeypatch, f"FROM {busybox_base}\nCOPY src/ /app/\n"
                          "RUN wc -c < /app/big.bin > /app/size && uname -m >> /app/size\n")
    assert copies == [1]
    linked = [p for p in (dockyard_root / "snapshots").glob("*/fs/app/big.bin")]
    assert len(linked) == 2 and linked[0].stat().st_ino == linked[1].stat().st_ino
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs = _unpack(layout, arch, tmp_path / f"unpacked-{arch}")
        assert (rootfs / "app" / "size").read_text().split() == [str(BIG), machine]
        assert (rootfs / "app" / "small.txt").read_text() == "small\n"


def test_a_context_file_edited_after_the_first_copy_read_it_is_the_next_builds(
        busybox_base: str, binfmt_arm64: qemu.Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A context file edited once the first platform's copy has read it: that copy holds the bytes
    the step's key hashed, so the other platform links it and both images hold them; the edit is
    the next build's, under its own key (a step that read an edited file fails instead:
    tests/integration/engine/test_context_changed.py)."""
    from dockyard.engine import copy

    original = copy.copy_into
    copies: list[int] = []

    def copy_then_edit(**kwargs: Any) -> None:
        original(**kwargs)
        copies.append(1)
        (tmp_path / "ctx" / "src" / "small.txt").write_text("edited during the build\n")

    monkeypatch.setattr(copy, "copy_into", copy_then_edit)
    dockerfile = f"FROM {busybox_base}\nCOPY src/ /app/\nRUN cat /app/small.txt > /app/seen\n"
    layout, _, _ = _build(tmp_path, monkeypatch, dockerfile)
    assert copies == [1]
    for arch in ("amd64", "arm64"):
        rootfs = _unpack(layout, arch, tmp_path / f"unpacked-{arch}")
        assert (rootfs / "app" / "seen").read_text() == (rootfs / "app" / "small.txt").read_text() == "small\n"

    monkeypatch.setattr(copy, "copy_into", original)
    layout = tmp_path / "layout-next"
    dockyard.build(tmp_path / "ctx", platforms=["linux/amd64", "linux/arm64"],
                   outputs=f"type=oci,dest={layout},tar=false")
    rootfs = _unpack(layout, "arm64", tmp_path / "unpacked-next")
    assert (rootfs / "app" / "seen").read_text() == "edited during the build\n"

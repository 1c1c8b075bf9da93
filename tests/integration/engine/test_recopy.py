"""A COPY made again after some of its files changed links the unchanged ones from its last copy
(dockyard.engine.recopy; issue 17, edit1).

Each case builds ``COPY src/ /app/`` followed by a RUN that reads the copy (so the COPY goes through
the overlay into a snapshot), edits the context, and builds again through ``dockyard.build``. What
is checked: which files of the new COPY snapshot share an inode with the last copy's, that the
image (exported as an OCI layout, unpacked by skopeo and umoci) holds the new bytes, and that the
COPY layer made by linking is byte for byte the one a fresh store makes of the same context: the
source files and directories carry times from 2020, inside SOURCE_DATE_EPOCH, so their metadata
is in the comparison.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import dockyard

pytestmark = pytest.mark.integration

BIG = 2 << 20
PAST = 1_577_836_800  # 2020-01-01: kept in the layer, SOURCE_DATE_EPOCH below is later


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "src" / "sub" / "deeper").mkdir(parents=True)
    (ctx / "src" / "big.bin").write_bytes(os.urandom(BIG))
    (ctx / "src" / "small.txt").write_text("one\n")
    (ctx / "src" / "sub" / "deeper" / "kept.txt").write_text("kept\n")
    (ctx / "src" / "sub" / "deeper" / "other.txt").write_text("other\n")
    (ctx / "src" / "sub" / "link").symlink_to("deeper/kept.txt")
    (ctx / "Dockerfile").write_text(f"FROM {base}\nCOPY src/ /app/\nRUN cat /app/small.txt > /seen\n")
    _age(ctx / "src")
    return ctx


def _age(tree: Path) -> None:
    """Give every entry below ``tree`` (and it) the 2020 times, directories after their entries."""
    for path in sorted(tree.rglob("*"), key=lambda p: -len(p.parts)):
        os.utime(path, (PAST, PAST), follow_symlinks=False)
    os.utime(tree, (PAST, PAST))


def _build(ctx: Path, out: Path) -> tuple[Path, list[str]]:
    """Build for linux/amd64 into the OCI layout ``out``: the rootfs (skopeo, umoci) and the layers."""
    dockyard.build(ctx, platforms=["linux/amd64"], outputs=f"type=oci,dest={out / 'layout'},tar=false")
    layout = out / "layout"
    index = json.loads((layout / "index.json").read_text())
    manifest = _blob(layout, index["manifests"][0]["digest"])
    if "manifests" in manifest:
        manifest = _blob(layout, manifest["manifests"][0]["digest"])
    subprocess.run(["skopeo", "copy", "-q", f"oci:{layout}", f"oci:{out / 'single'}:img"], check=True,
                   capture_output=True)
    subprocess.run(["umoci", "unpack", "--image", f"{out / 'single'}:img", str(out / "bundle")], check=True,
                   capture_output=True)
    return out / "bundle" / "rootfs", [layer["digest"] for layer in manifest["layers"]]


def _blob(layout: Path, digest: str) -> Any:
    return json.loads((layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_text())


def _copies(root: Path, name: str) -> dict[int, Path]:
    """The COPY snapshots' ``app/NAME`` by inode."""
    return {path.stat().st_ino: path for path in (root / "snapshots").glob(f"*/fs/app/{name}")}


@pytest.mark.parametrize("flags", ["", "--exclude=sub --exclude=!sub/deeper/*.txt ", "--chmod=640 "],
                         ids=["plain", "directories-made-for-what-they-hold", "chmod-and-hard-links"])
def test_unchanged_files_are_linked_and_the_layer_is_a_fresh_copys(
        busybox_base: str, tmp_path: Path, dockyard_root: Path, monkeypatch: pytest.MonkeyPatch,
        flags: str) -> None:
    """With the excludes, sub/ and sub/deeper/ are made only for the files let back in below them (the
    selector's lazy directories, fsutil copy.go createParentDirs): a link and a copy go into them. With
    --chmod, every entry's mode is the flag's; two context files sharing an inode are copied as a
    hard-link pair each time (never reused: the copier links them to each other)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = _context(tmp_path, busybox_base)
    if flags.startswith("--chmod"):
        (ctx / "src" / "pair-a.txt").write_text("pair\n")
        os.link(ctx / "src" / "pair-a.txt", ctx / "src" / "pair-b.txt")
        _age(ctx / "src")
    dockerfile = ctx / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY src/", f"COPY {flags}src/"))
    _build(ctx, tmp_path / "first")
    for edited in ("small.txt", "sub/deeper/other.txt"):
        (ctx / "src" / edited).write_text("two\n")
        os.utime(ctx / "src" / edited, (PAST, PAST))
    rootfs, layers = _build(ctx, tmp_path / "second")

    big, small, kept = _copies(dockyard_root, "big.bin"), _copies(dockyard_root, "small.txt"), _copies(
        dockyard_root, "sub/deeper/kept.txt")
    assert len(big) == 1 and next(iter(big.values())).stat().st_nlink == 2  # both copies: one inode
    assert len(kept) == 1
    assert sorted(p.read_text() for p in small.values()) == ["one\n", "two\n"]  # the edited file: copied
    assert len(_copies(dockyard_root, "sub/deeper/other.txt")) == 2
    assert (rootfs / "seen").read_text() == (rootfs / "app" / "small.txt").read_text() == "two\n"
    assert (rootfs / "app" / "big.bin").stat().st_size == BIG
    assert (rootfs / "app" / "sub" / "deeper" / "kept.txt").read_text() == "kept\n"
    assert (rootfs / "app" / "sub" / "link").is_symlink() == (not flags.startswith("--exclude"))
    if flags.startswith("--chmod"):
        pair = [rootfs / "app" / "pair-a.txt", rootfs / "app" / "pair-b.txt"]
        assert pair[0].stat().st_ino == pair[1].stat().st_ino and pair[0].read_text() == "pair\n"
        assert oct((rootfs / "app" / "big.bin").stat().st_mode & 0o777) == "0o640"

    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "fresh-root"))
    _, fresh = _build(ctx, tmp_path / "fresh")
    assert layers == fresh  # the COPY layer (and the RUN's) as a store without a last copy makes it


def test_a_touched_file_is_copied_again(busybox_base: str, tmp_path: Path, dockyard_root: Path) -> None:
    """One file edited (the step runs again), another touched: the same bytes with a new mtime are
    another entry, so that file is copied too; the untouched ones are still linked. (A touch alone
    keeps the key, as in BuildKit, whose content hash leaves mtime out: the step is cached.)"""
    ctx = _context(tmp_path, busybox_base)
    _build(ctx, tmp_path / "first")
    (ctx / "src" / "small.txt").write_text("two\n")
    os.utime(ctx / "src" / "big.bin", (PAST + 60, PAST + 60))
    rootfs, _ = _build(ctx, tmp_path / "second")
    assert len(_copies(dockyard_root, "big.bin")) == 2
    assert len(_copies(dockyard_root, "sub/deeper/kept.txt")) == 1
    assert int((rootfs / "app" / "big.bin").stat().st_mtime) == PAST + 60


def test_a_pruned_last_copy_means_a_full_copy(busybox_base: str, tmp_path: Path, dockyard_root: Path) -> None:
    """The snapshot the record names is gone: the build copies everything and names itself the last
    copy. ``prune`` removes the lineages whose last copy it removes."""
    ctx = _context(tmp_path, busybox_base)
    _build(ctx, tmp_path / "first")
    [first] = _copies(dockyard_root, "big.bin").values()
    shutil.rmtree(first.parents[2])  # ID/fs/app/big.bin -> ID
    (ctx / "src" / "small.txt").write_text("two\n")
    rootfs, _ = _build(ctx, tmp_path / "second")
    [second] = _copies(dockyard_root, "big.bin").values()
    assert second.stat().st_nlink == 1
    assert (rootfs / "seen").read_text() == "two\n"
    (ctx / "src" / "small.txt").write_text("three\n")
    _build(ctx, tmp_path / "third")
    assert second.stat().st_nlink == 2  # the second build's copy is the third's last copy

    lineages = dockyard_root / "snapshots" / ".copies"
    assert len(list(lineages.iterdir())) == 1
    dockyard.builders.prune(all=True)  # the prune that removes a last copy forgets its lineage
    assert not list(lineages.iterdir())

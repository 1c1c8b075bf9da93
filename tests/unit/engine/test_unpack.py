"""Applying layers: round trips, whiteouts in both targets, and no path ever leaving the target."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.oci.layer import Compression, LayerOptions, make_layer
from dockyard.oci.rootpath import UnsafePathError
from dockyard.oci.unpack import Whiteouts, apply_layer
from tests.rig.trees import describe


def _layer(path: Path, entries: list[tuple[str, str, bytes | str]]) -> Path:
    """A plain tar with (kind, name, data-or-linkname) entries, as another tool could write it."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1_000_000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "file":
                payload = data.encode() if isinstance(data, str) else data
                info.size, info.mode = len(payload), 0o644
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(data)
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, str(data)
                tar.addfile(info)
    return path


@pytest.mark.parametrize("compression", list(Compression))
def test_round_trip_keeps_everything(tmp_path: Path, busybox_rootfs: dict[str, Path],
                                     compression: Compression) -> None:
    source = tmp_path / "source"
    source.mkdir()
    subprocess.run(["tar", "-xf", str(busybox_rootfs["amd64"]), "-C", str(source)], check=True)
    os.link(source / "etc" / "passwd", source / "etc" / "passwd-hard")
    os.setxattr(source / "etc" / "group", "user.note", b"\xffbinary")
    os.setxattr(source / "bin" / "busybox", "security.capability",
                bytes.fromhex("0100000200200000000000000000000000000000"))
    os.mknod(source / "dev" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chown(source / "home", 1000, 1001)
    blob = make_layer(source, tmp_path, options=LayerOptions(compression=compression))
    target = tmp_path / "target"
    target.mkdir()
    applied = apply_layer(blob.path, target, whiteouts=Whiteouts.APPLY)
    assert applied.diff_id == blob.diff_id
    assert applied.size == blob.uncompressed_size
    assert describe(target, mtimes=True) == describe(source, mtimes=True)
    assert os.stat(target / "etc" / "passwd").st_ino == os.stat(target / "etc" / "passwd-hard").st_ino


def test_whiteouts_apply_onto_a_flattened_tree(tmp_path: Path) -> None:
    target = tmp_path / "root"
    (target / "etc").mkdir(parents=True)
    (target / "etc" / "passwd").write_text("root")
    (target / "etc" / "keep").write_text("k")
    (target / "usr" / "old").mkdir(parents=True)
    layer = _layer(tmp_path / "l.tar", [("file", "etc/.wh.passwd", ""), ("dir", "usr", ""),
                                        ("file", "usr/.wh..wh..opq", ""), ("file", "usr/new", "n")])
    apply_layer(layer, target, whiteouts=Whiteouts.APPLY)
    assert sorted(os.listdir(target / "etc")) == ["keep"]
    assert sorted(os.listdir(target / "usr")) == ["new"]


def test_opaque_marker_after_entries_of_the_same_layer_keeps_them(tmp_path: Path) -> None:
    target = tmp_path / "root"
    (target / "usr" / "old").mkdir(parents=True)
    layer = _layer(tmp_path / "l.tar", [("dir", "usr", ""), ("file", "usr/new", "n"),
                                        ("file", "usr/.wh..wh..opq", "")])
    apply_layer(layer, target, whiteouts=Whiteouts.APPLY)
    assert sorted(os.listdir(target / "usr")) == ["new"]


def test_whiteouts_become_overlay_markers_in_a_snapshot(tmp_path: Path) -> None:
    target = tmp_path / "diff"
    target.mkdir()
    layer = _layer(tmp_path / "l.tar", [("dir", "etc", ""), ("file", "etc/.wh.passwd", ""), ("dir", "usr", ""),
                                        ("file", "usr/.wh..wh..opq", ""), ("file", "usr/new", "n")])
    apply_layer(layer, target, whiteouts=Whiteouts.OVERLAY)
    st = os.lstat(target / "etc" / "passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(target / "usr", "trusted.overlay.opaque") == b"y"
    assert (target / "usr" / "new").read_text() == "n"


def test_parents_missing_from_the_tar_are_created(tmp_path: Path) -> None:
    target = tmp_path / "root"
    target.mkdir()
    apply_layer(_layer(tmp_path / "l.tar", [("file", "a/b/c", "deep")]), target, whiteouts=Whiteouts.APPLY)
    assert (target / "a" / "b" / "c").read_text() == "deep"


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape", "a/../../escape"])
def test_absolute_and_climbing_names_are_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "root"
    target.mkdir()
    layer = _layer(tmp_path / "l.tar", [("file", name, "x")])
    with pytest.raises(UnsafePathError):
        apply_layer(layer, target, whiteouts=Whiteouts.APPLY)
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("link", ["/", "..", "../../..", "/tmp/../.."])
def test_symlinks_cannot_lead_writes_outside(tmp_path: Path, link: str) -> None:
    target = tmp_path / "jail" / "root"
    target.mkdir(parents=True)
    layer = _layer(tmp_path / "l.tar", [("symlink", "evil", link), ("file", "evil/outside", "gotcha")])
    apply_layer(layer, target, whiteouts=Whiteouts.APPLY)
    assert not (tmp_path / "jail" / "outside").exists()
    assert not (tmp_path / "outside").exists()
    assert (target / "outside").read_text() == "gotcha"
    assert os.readlink(target / "evil") == link


def test_hardlinks_to_outside_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    target = tmp_path / "root"
    target.mkdir()
    layer = _layer(tmp_path / "l.tar", [("hardlink", "steal", "../secret")])
    with pytest.raises(UnsafePathError):
        apply_layer(layer, target, whiteouts=Whiteouts.APPLY)


def test_hardlink_through_symlinked_dir_stays_inside(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    target = tmp_path / "root"
    target.mkdir()
    (target / "secret").write_text("inside")
    layer = _layer(tmp_path / "l.tar", [("symlink", "up", "/"), ("hardlink", "steal", "up/secret")])
    apply_layer(layer, target, whiteouts=Whiteouts.APPLY)
    assert (target / "steal").read_text() == "inside"


def test_an_entry_replaces_what_was_there(tmp_path: Path) -> None:
    target = tmp_path / "root"
    (target / "thing" / "sub").mkdir(parents=True)
    layer = _layer(tmp_path / "l.tar", [("file", "thing", "now a file")])
    apply_layer(layer, target, whiteouts=Whiteouts.APPLY)
    assert (target / "thing").read_text() == "now a file"


def test_a_hardlink_to_nothing_is_a_build_error_naming_the_entry(tmp_path: Path) -> None:
    target = tmp_path / "root"
    target.mkdir()
    layer = _layer(tmp_path / "l.tar", [("hardlink", "orphan", "not/there")])
    with pytest.raises(BuildError, match="'orphan'"):
        apply_layer(layer, target, whiteouts=Whiteouts.APPLY)

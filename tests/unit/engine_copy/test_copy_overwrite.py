"""Copying onto paths that already exist: replace, merge, or refuse — as BuildKit's copier does."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dockyard.engine.copy import CopySpec, copy_into
from dockyard.errors import BuildError


def _write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)


def _copy(src: Path, dst: Path, *paths: str, dest: str) -> None:
    copy_into(source_root=src, dest_root=dst, spec=CopySpec(paths=paths, dest=dest))


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    return src, dst


def test_a_file_replaces_a_file_and_a_symlink_is_replaced_not_written_through(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/conf", "new")
    _write(dst / "etc/conf", "old")
    _write(dst / "etc/victim", "untouched")
    os.symlink("victim", dst / "etc/link")
    _write(src / "d/link", "replaced the link")
    _copy(src, dst, "d", dest="/etc")
    assert (dst / "etc/conf").read_text() == "new"
    assert not (dst / "etc/link").is_symlink()
    assert (dst / "etc/link").read_text() == "replaced the link"
    assert (dst / "etc/victim").read_text() == "untouched"


def test_a_directory_merges_into_a_directory(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/sub/new.txt", "n")
    _write(dst / "t/sub/old.txt", "o")
    os.chmod(src / "d/sub", 0o700)
    _copy(src, dst, "d", dest="/t")
    assert sorted(os.listdir(dst / "t/sub")) == ["new.txt", "old.txt"]
    assert stat.S_IMODE(os.lstat(dst / "t/sub").st_mode) == 0o700  # a merged subdirectory takes the source's mode


def test_the_top_destination_keeps_its_mode_and_takes_the_source_mtime(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/f", "x")
    os.chmod(src / "d", 0o700)
    os.utime(src / "d", ns=(7_000_000_000, 8_000_000_000))
    (dst / "t").mkdir()
    os.chmod(dst / "t", 0o1777)
    _copy(src, dst, "d", dest="/t")
    st = os.lstat(dst / "t")
    assert stat.S_IMODE(st.st_mode) == 0o1777
    assert st.st_mtime_ns == 8_000_000_000


def test_a_new_top_destination_is_0755_even_for_a_private_source_dir(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/f", "x")
    os.chmod(src / "d", 0o700)
    _copy(src, dst, "d", dest="/new")
    assert stat.S_IMODE(os.lstat(dst / "new").st_mode) == 0o755


def test_a_file_onto_a_nested_directory_is_an_error(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/thing", "file")
    _write(dst / "t/thing/inner", "dir")
    with pytest.raises(BuildError, match="cannot replace to directory /t/thing with file"):
        _copy(src, dst, "d", dest="/t")
    assert (dst / "t/thing/inner").read_text() == "dir"


def test_a_named_file_onto_an_existing_directory_goes_inside_it(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "thing", "file")
    (dst / "thing").mkdir()
    _copy(src, dst, "thing", dest="/thing")
    assert (dst / "thing/thing").read_text() == "file"


def test_a_directory_onto_a_file_is_an_error(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/sub/f", "x")
    _write(dst / "t/sub", "a file")
    with pytest.raises(BuildError, match="cannot copy to non-directory: /t/sub"):
        _copy(src, dst, "d", dest="/t")
    _write(dst / "plain", "a file")
    with pytest.raises(BuildError, match="non-directory"):
        _copy(src, dst, "d", dest="/plain")


def test_a_directory_onto_a_symlink_below_the_top_is_an_error_not_a_redirect(roots: tuple[Path, Path]) -> None:
    src, dst = roots
    _write(src / "d/lib/x.so", "x")
    (dst / "t").mkdir()
    (dst / "elsewhere").mkdir()
    os.symlink("../elsewhere", dst / "t/lib")
    with pytest.raises(BuildError, match="non-directory"):
        _copy(src, dst, "d", dest="/t")
    assert list((dst / "elsewhere").iterdir()) == []

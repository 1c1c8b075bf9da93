"""Confined path resolution: symlinks are followed with the root as the ceiling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.oci.rootpath import UnsafePathError, check_member_name, resolve


def test_absolute_symlinks_resolve_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("/usr/lib")
    assert resolve(tmp_path, "/lib/x") == os.fsencode(tmp_path / "usr" / "lib" / "x")


def test_dotdot_stops_at_the_root(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "up").symlink_to("../../../../etc")
    assert resolve(tmp_path, "a/up/passwd") == os.fsencode(tmp_path / "etc" / "passwd")
    assert resolve(tmp_path, "../../x") == os.fsencode(tmp_path / "x")


def test_last_component_is_kept_when_asked(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/target")
    assert resolve(tmp_path, "link", follow_last=False) == os.fsencode(tmp_path / "link")
    assert resolve(tmp_path, "link") == os.fsencode(tmp_path / "target")


def test_loops_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(UnsafePathError, match="symbolic links"):
        resolve(tmp_path, "a/x")


def test_create_dirs_makes_the_path(tmp_path: Path) -> None:
    path = resolve(tmp_path, "/x/y/z", create_dirs=True)
    assert os.path.isdir(path) and path == os.fsencode(tmp_path / "x" / "y" / "z")


def test_file_in_the_middle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(BuildError, match="not a directory"):
        resolve(tmp_path, "f/x/y")


def test_member_names() -> None:
    assert check_member_name("./a//b/.") == [b"a", b"b"]
    with pytest.raises(UnsafePathError):
        check_member_name("a/../../b")

"""The merged view of layers: later layers win, whiteouts and opaque markers remove."""

from __future__ import annotations

import tarfile

from dockyard.attest.imagefs import Reader, normalize, read_all, read_files
from tests.unit.attest.layers import layer


def _all(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
    return read_all(1024)


def test_later_layer_replaces_and_whiteout_removes() -> None:
    base = layer(("etc/", None), ("etc/a", "one"), ("etc/b", "bee"), ("opt/x/y", "why"), ("opt/x/z", "zed"))
    top = layer(("etc/a", "two"), ("etc/.wh.b", ""), ("opt/x/.wh..wh..opq", ""), ("opt/x/new", "new"))
    assert read_files([base, top], _all) == {"etc/a": b"two", "opt/x/new": b"new"}


def test_symlink_replacing_a_file_hides_it() -> None:
    base = layer(("etc/os-release", "ID=debian"))
    top = layer(symlinks={"etc/os-release": "../usr/lib/os-release"})
    assert read_files([base, top], _all) == {}


def test_whiteout_of_a_directory_removes_its_tree() -> None:
    base = layer(("usr/lib/python3/dist-packages/a.dist-info/METADATA", "Name: a"))
    top = layer(("usr/lib/python3/.wh.dist-packages", ""))
    assert read_files([base, top], _all) == {}


def test_big_files_are_skipped_by_read_all() -> None:
    assert read_files([layer(("big", b"x" * 2000), ("small", "ok"))], _all) == {"small": b"ok"}


def test_normalize() -> None:
    assert normalize("./usr/bin/") == "usr/bin"
    assert normalize("/etc//passwd") == "etc/passwd"
    assert normalize("a/../../b") == "b"
    assert normalize("./") == ""

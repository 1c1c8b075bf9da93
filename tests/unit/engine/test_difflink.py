"""A second platform's COPY diff made of hard links to the first one's (dockyard.engine.difflink)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.engine.difflink import NotLinkable, link_diff


def _diff(root: Path) -> Path:
    diff = root / "diff"
    (diff / "app" / "lib").mkdir(parents=True)
    (diff / "app" / "main.py").write_text("print('hi')\n")
    (diff / "app" / "lib" / "data.bin").write_bytes(os.urandom(4096))
    os.symlink("main.py", diff / "app" / "run")
    os.chown(diff / "app", 1000, 1001)
    os.chmod(diff / "app", 0o750)
    os.setxattr(diff / "app", "user.origin", b"context")
    os.setxattr(diff / "app", "trusted.overlay.origin", b"\x00first-platform-lower")  # copy-up bookkeeping
    for directory in (diff / "app" / "lib", diff / "app"):
        os.utime(directory, ns=(1_600_000_000_000_000_000, 1_700_000_000_000_000_000))
    return diff


def test_files_are_linked_and_directories_made_with_the_first_diffs_metadata(tmp_path: Path) -> None:
    diff, target = _diff(tmp_path), tmp_path / "upper"
    target.mkdir()
    link_diff(os.fsencode(diff), os.fsencode(target))
    for name in ("app/main.py", "app/lib/data.bin", "app/run"):
        assert os.lstat(target / name).st_ino == os.lstat(diff / name).st_ino
    assert os.readlink(target / "app" / "run") == "main.py"
    assert (target / "app" / "main.py").stat().st_nlink == 2
    for name in ("app", "app/lib"):
        made, first = os.lstat(target / name), os.lstat(diff / name)
        assert made.st_ino != first.st_ino
        assert (made.st_mode, made.st_uid, made.st_gid, made.st_mtime_ns) == (
            first.st_mode, first.st_uid, first.st_gid, first.st_mtime_ns)
    assert os.getxattr(target / "app", "user.origin") == b"context"
    assert "trusted.overlay.origin" not in os.listxattr(target / "app")


@pytest.mark.parametrize("below", ["whiteout", "opaque"])
def test_a_diff_whose_meaning_depends_on_its_lowers_is_not_linked(tmp_path: Path, below: str) -> None:
    diff, target = _diff(tmp_path), tmp_path / "upper"
    target.mkdir()
    if below == "whiteout":
        os.mknod(diff / "app" / "lib" / "gone", 0o600 | 0o020000, os.makedev(0, 0))
    else:
        os.setxattr(diff / "app" / "lib", "trusted.overlay.opaque", b"y")
    with pytest.raises(NotLinkable):
        link_diff(os.fsencode(diff), os.fsencode(target))
    assert list(target.iterdir()) == []  # checked before anything is written

"""WORKDIR's ``mkdir -p``: which directories get the USER as owner, and their mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dockyard.engine.copy import make_dirs


def _owner_mode(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_every_created_directory_gets_the_owner_and_existing_ones_are_kept(tmp_path: Path) -> None:
    """BuildKit's MkdirAll chowns each directory it creates, parents included, and leaves the
    existing ones alone (found by the buildah differential test: only the last one was chowned)."""
    (tmp_path / "srv").mkdir(mode=0o700)
    make_dirs(tmp_path, "/srv/made/deeper", chown=(2100, 2200))
    assert _owner_mode(tmp_path / "srv") == (0, 0, 0o700)
    assert _owner_mode(tmp_path / "srv/made") == (2100, 2200, 0o755)
    assert _owner_mode(tmp_path / "srv/made/deeper") == (2100, 2200, 0o755)
    make_dirs(tmp_path, "/srv/made", chown=(1, 1))  # exists: untouched
    assert _owner_mode(tmp_path / "srv/made") == (2100, 2200, 0o755)


def test_symlinked_parents_are_followed_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink("/real", tmp_path / "link")
    old = os.umask(0o077)
    try:
        make_dirs(tmp_path, "link/sub", chown=None)
    finally:
        os.umask(old)
    assert _owner_mode(tmp_path / "real/sub") == (0, 0, 0o755)

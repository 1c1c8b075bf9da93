"""--chown values resolved against the destination image's /etc/passwd and /etc/group."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.copy import resolve_chown
from dockyard.errors import BuildError


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1500:App:/home/app:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nstaff:x:50:app\napp:x:1500:\n")
    return tmp_path


def test_numeric_user_alone_uses_the_same_number_as_group(rootfs: Path) -> None:
    assert resolve_chown(rootfs, "42") == (42, 42)
    assert resolve_chown(rootfs, "42:7") == (42, 7)


def test_a_user_name_alone_takes_its_primary_group(rootfs: Path) -> None:
    assert resolve_chown(rootfs, "app") == (1000, 1500)


def test_names_and_ids_mix(rootfs: Path) -> None:
    assert resolve_chown(rootfs, "app:staff") == (1000, 50)
    assert resolve_chown(rootfs, "55:staff") == (55, 50)
    assert resolve_chown(rootfs, "app:9") == (1000, 9)


def test_unknown_names_are_errors_naming_them(rootfs: Path) -> None:
    with pytest.raises(BuildError, match="unable to find user nobody"):
        resolve_chown(rootfs, "nobody")
    with pytest.raises(BuildError, match="unable to find group wheel"):
        resolve_chown(rootfs, "app:wheel")


def test_names_need_the_files_but_numbers_do_not(tmp_path: Path) -> None:
    assert resolve_chown(tmp_path, "1:2") == (1, 2)
    with pytest.raises(BuildError, match="app"):
        resolve_chown(tmp_path, "app")

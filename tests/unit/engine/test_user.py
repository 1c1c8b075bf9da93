"""USER resolution through the image's own /etc/passwd and /etc/group, with Docker's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.executor.user import ExecUser, resolve_user

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:App:/home/app:/bin/sh
# comment
nohome:x:1001:1001::
"""
GROUP = """root:x:0:
wheel:x:10:app,other
app:x:1000:
audio:x:29:nohome,app
staff:x:50:
"""


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "etc" / "group").write_text(GROUP)
    return tmp_path


def test_empty_means_root(rootfs: Path) -> None:
    assert resolve_user(rootfs, "") == ExecUser(uid=0, gid=0, home="/root")


def test_name_takes_primary_and_supplementary_groups(rootfs: Path) -> None:
    assert resolve_user(rootfs, "app") == ExecUser(uid=1000, gid=1000, additional_gids=(10, 29), home="/home/app")


def test_numeric_uid_with_entry_uses_it(rootfs: Path) -> None:
    assert resolve_user(rootfs, "1000") == resolve_user(rootfs, "app")


def test_numeric_ids_without_entries_pass_through(rootfs: Path) -> None:
    assert resolve_user(rootfs, "4242") == ExecUser(uid=4242, gid=0, home="/")
    assert resolve_user(rootfs, "4242:77") == ExecUser(uid=4242, gid=77, home="/")


def test_explicit_group_replaces_primary_and_drops_supplementary(rootfs: Path) -> None:
    assert resolve_user(rootfs, "app:staff") == ExecUser(uid=1000, gid=50, home="/home/app")
    assert resolve_user(rootfs, "daemon:0") == ExecUser(uid=1, gid=0, home="/usr/sbin")


def test_empty_home_falls_back_to_root_dir(rootfs: Path) -> None:
    assert resolve_user(rootfs, "nohome").home == "/"


def test_unknown_user_is_named(rootfs: Path) -> None:
    with pytest.raises(BuildError, match="unable to find user ghost"):
        resolve_user(rootfs, "ghost")


def test_unknown_group_is_named(rootfs: Path) -> None:
    with pytest.raises(BuildError, match="unable to find group nogroup"):
        resolve_user(rootfs, "app:nogroup")


def test_files_are_read_inside_the_rootfs_even_through_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "passwd").write_text("svc:x:77:88::/srv:/bin/sh\n")
    (tmp_path / "etc").symlink_to("/real")
    assert resolve_user(tmp_path, "svc") == ExecUser(uid=77, gid=88, home="/srv")


def test_missing_passwd_allows_numeric_only(tmp_path: Path) -> None:
    assert resolve_user(tmp_path, "5:6") == ExecUser(uid=5, gid=6)
    with pytest.raises(BuildError, match="unable to find user app"):
        resolve_user(tmp_path, "app")

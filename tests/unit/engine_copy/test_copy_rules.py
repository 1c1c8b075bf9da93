"""COPY's source and destination rules (BuildKit's), on real temporary directories."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from dockyard.engine.copy import CopySpec, copy_into
from dockyard.errors import BuildError


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)
    return root


@pytest.fixture
def ctx(tmp_path: Path) -> Path:
    return _tree(tmp_path / "ctx", {
        "a.go": "A", "b.go": "B", "readme": "R",
        "sub/dir1/dir2/foo": "FOO", "sub/top.txt": "T",
    })


@pytest.fixture
def dst(tmp_path: Path) -> Path:
    d = tmp_path / "dst"
    d.mkdir()
    return d


def _copy(ctx: Path, dst: Path, *paths: str, dest: str, **kw: object) -> None:
    copy_into(source_root=ctx, dest_root=dst, spec=CopySpec(paths=paths, dest=dest, **kw))  # type: ignore[arg-type]


def test_source_paths_are_relative_to_the_root_whatever_their_prefix(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "/readme", dest="/one")
    _copy(ctx, dst, "../../readme", dest="/two")
    assert (dst / "one").read_text() == "R"
    assert (dst / "two").read_text() == "R"


def test_a_missing_source_is_an_error_naming_it(ctx: Path, dst: Path) -> None:
    with pytest.raises(BuildError, match=r"COPY failed: file not found in build context.*: nothere\.txt$"):
        _copy(ctx, dst, "nothere.txt", dest="/x")


def test_a_wildcard_matching_nothing_copies_nothing(ctx: Path, dst: Path) -> None:
    # dockerfile2llb dispatchCopy sets AllowEmptyWildcard; buildkit solver/llbsolver/file/backend.go
    # docopy returns before creating anything when the wildcard matches nothing
    _copy(ctx, dst, "nomatch*", dest="/e/")
    assert not (dst / "e").exists()
    _copy(ctx, dst, "readme", "nomatch*", dest="/d/")
    assert (dst / "d/readme").read_text() == "R"
    with pytest.raises(BuildError, match=r"nomatch\*"):
        _copy(ctx, dst, "nomatch*", dest="/d/", allow_empty_wildcard=False)


def test_wildcards_follow_go_rules_and_directories_give_their_contents(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "*.go", dest="/gofiles/")
    _copy(ctx, dst, "sub/*", dest="/subdest/")
    _copy(ctx, dst, "sub/*/dir2/foo", dest="/subdest3/bar")
    assert sorted(os.listdir(dst / "gofiles")) == ["a.go", "b.go"]
    assert (dst / "subdest/dir2/foo").read_text() == "FOO"  # sub/dir1's contents, not dir1 itself
    assert (dst / "subdest/top.txt").read_text() == "T"
    assert (dst / "subdest3/bar").read_text() == "FOO"


def test_escaped_brackets_name_a_literal_file(tmp_path: Path, dst: Path) -> None:
    ctx = _tree(tmp_path / "c", {"arr[0].txt": "zero", "arr0.txt": "no"})
    _copy(ctx, dst, "arr[[]0].txt", dest="/d/")
    assert os.listdir(dst / "d") == ["arr[0].txt"]


def test_a_directory_source_copies_its_contents_not_itself(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "sub", dest="/s")
    _copy(ctx, dst, "sub/", dest="/t/")
    assert sorted(os.listdir(dst / "s")) == ["dir1", "top.txt"]
    assert sorted(os.listdir(dst / "t")) == ["dir1", "top.txt"]


def test_file_destination_rules(ctx: Path, dst: Path) -> None:
    (dst / "existing").mkdir()
    _copy(ctx, dst, "readme", dest="/slash/")
    _copy(ctx, dst, "readme", dest="/existing")
    _copy(ctx, dst, "readme", dest="/plain")
    assert (dst / "slash/readme").is_file()
    assert (dst / "existing/readme").is_file()
    assert (dst / "plain").is_file() and (dst / "plain").read_text() == "R"


def test_relative_destination_is_relative_to_workdir(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "readme", dest="rel/", workdir="/app")
    _copy(ctx, dst, "a.go", dest=".", workdir="/app")
    assert (dst / "app/rel/readme").is_file()
    assert (dst / "app/a.go").is_file()


def test_several_sources_need_a_directory_destination(ctx: Path, dst: Path) -> None:
    with pytest.raises(BuildError, match="must be a directory and end with a /"):
        _copy(ctx, dst, "a.go", "b.go", dest="/notdir")
    with pytest.raises(BuildError, match="must be a directory"):
        _copy(ctx, dst, "*.go", dest="/notdir")
    assert not (dst / "notdir").exists()
    (dst / "isdir").mkdir()
    _copy(ctx, dst, "*.go", dest="/isdir")
    assert sorted(os.listdir(dst / "isdir")) == ["a.go", "b.go"]


def test_missing_parents_are_made_0755_with_the_chown_owner(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "readme", dest="/x/y/z", chown=(1000, 1001))
    for d in ("x", "x/y"):
        st = os.lstat(dst / d)
        assert stat.S_IMODE(st.st_mode) == 0o755
        assert (st.st_uid, st.st_gid) == (1000, 1001)
    _copy(ctx, dst, "readme", dest="/p/q/")
    st = os.lstat(dst / "p/q")
    assert stat.S_IMODE(st.st_mode) == 0o755 and (st.st_uid, st.st_gid) == (0, 0)


def test_octal_chmod_is_also_the_mode_of_created_parents(ctx: Path, dst: Path) -> None:
    _copy(ctx, dst, "readme", dest="/m/n/file", chmod="700")
    assert stat.S_IMODE(os.lstat(dst / "m").st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(dst / "m/n/file").st_mode) == 0o700


def test_modes_and_times_are_kept_and_context_files_belong_to_root(ctx: Path, dst: Path) -> None:
    src = ctx / "a.go"
    os.chown(src, 123, 456)
    os.chmod(src, 0o4751)
    os.utime(src, ns=(1_000_000_123, 2_000_000_456))
    os.chmod(ctx / "sub/dir1", 0o711)
    os.utime(ctx / "sub/dir1", ns=(5_000_000_000, 6_000_000_000))
    _copy(ctx, dst, "a.go", "sub", dest="/d/")
    st = os.lstat(dst / "d/a.go")
    assert stat.S_IMODE(st.st_mode) == 0o4751
    assert st.st_mtime_ns == 2_000_000_456
    assert (st.st_uid, st.st_gid) == (0, 0)
    dir_st = os.lstat(dst / "d/dir1")
    assert stat.S_IMODE(dir_st.st_mode) == 0o711
    assert dir_st.st_mtime_ns == 6_000_000_000  # set after its children were written


def test_files_from_a_stage_keep_their_owners_unless_chown(ctx: Path, dst: Path) -> None:
    os.chown(ctx / "readme", 123, 456)
    os.lchown(ctx / "sub/top.txt", 7, 8)
    _copy(ctx, dst, "readme", dest="/kept", from_context=False)
    _copy(ctx, dst, "sub", dest="/owned/", from_context=False, chown=(5, 6))
    st = os.lstat(dst / "kept")
    assert (st.st_uid, st.st_gid) == (123, 456)
    for name in ("owned/top.txt", "owned/dir1", "owned/dir1/dir2/foo"):
        st = os.lstat(dst / name)
        assert (st.st_uid, st.st_gid) == (5, 6), name


def test_chmod_applies_to_files_and_directories(ctx: Path, dst: Path) -> None:
    os.chmod(ctx / "sub/top.txt", 0o640)
    os.chmod(ctx / "sub/dir1/dir2/foo", 0o750)
    _copy(ctx, dst, "sub", dest="/oct/", chmod="600")
    _copy(ctx, dst, "sub", dest="/sym/", chmod="a=rX,u+w")
    assert stat.S_IMODE(os.lstat(dst / "oct/dir1").st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(dst / "oct/top.txt").st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(dst / "sym/dir1").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(dst / "sym/top.txt").st_mode) == 0o644
    assert stat.S_IMODE(os.lstat(dst / "sym/dir1/dir2/foo").st_mode) == 0o755


def test_symlinks_are_copied_as_links_but_a_named_link_is_followed(ctx: Path, dst: Path) -> None:
    os.symlink("../readme", ctx / "sub/rel-link")
    os.symlink("readme", ctx / "named")
    _copy(ctx, dst, "sub", dest="/s/")
    _copy(ctx, dst, "named", dest="/followed")
    _copy(ctx, dst, "named", dest="/kept", follow_symlinks=False)
    assert os.readlink(dst / "s/rel-link") == "../readme"
    assert not (dst / "followed").is_symlink() and (dst / "followed").read_text() == "R"
    assert os.readlink(dst / "kept") == "readme"


def test_a_named_link_to_a_directory_copies_the_directory_contents(ctx: Path, dst: Path) -> None:
    os.symlink("sub/dir1", ctx / "dirlink")
    _copy(ctx, dst, "dirlink", dest="/d")
    assert (dst / "d/dir2/foo").read_text() == "FOO"


def test_source_symlinks_cannot_read_outside_the_root(tmp_path: Path, ctx: Path, dst: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    os.symlink(str(secret), ctx / "abs-escape")
    os.symlink("../../../../../../" + str(secret), ctx / "rel-escape")
    for name in ("abs-escape", "rel-escape"):
        with pytest.raises(BuildError, match="not found"):
            _copy(ctx, dst, name, dest="/" + name)
    assert list(dst.iterdir()) == []


def test_destination_symlinks_resolve_inside_the_destination_root(tmp_path: Path, ctx: Path, dst: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    os.symlink(str(host), dst / "out")
    os.symlink("../../../../" + str(host / "f"), dst / "outfile")
    _copy(ctx, dst, "readme", dest="/out/")
    _copy(ctx, dst, "readme", dest="/outfile")
    assert list(host.iterdir()) == []
    assert (dst / str(host).lstrip("/") / "readme").read_text() == "R"
    assert (dst / str(host).lstrip("/") / "f").read_text() == "R"


def test_hard_links_within_one_copy_stay_hard_links(ctx: Path, dst: Path) -> None:
    os.link(ctx / "a.go", ctx / "sub/a-again")
    os.link(ctx / "a.go", ctx / "sub/dir1/a-thrice")
    _copy(ctx, dst, "a.go", "sub", dest="/h/")
    first = os.lstat(dst / "h/a.go")
    assert first.st_nlink == 3
    assert os.lstat(dst / "h/a-again").st_ino == first.st_ino
    assert os.lstat(dst / "h/dir1/a-thrice").st_ino == first.st_ino


def test_capabilities_and_user_xattrs_are_kept(ctx: Path, dst: Path) -> None:
    os.setxattr(ctx / "a.go", "user.origin", b"ctx")
    cap = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_raw+ep, v2
    os.setxattr(ctx / "b.go", "security.capability", cap)
    _copy(ctx, dst, "a.go", "b.go", dest="/x/")
    assert os.getxattr(dst / "x/a.go", "user.origin") == b"ctx"
    assert os.getxattr(dst / "x/b.go", "security.capability") == cap


def test_special_files_from_a_stage_are_recreated(tmp_path: Path, dst: Path) -> None:
    stage = tmp_path / "stage"
    (stage / "dev").mkdir(parents=True)
    os.mknod(stage / "dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mkfifo(stage / "dev/fifo")
    os.chmod(stage / "dev/null", 0o666)
    os.chmod(stage / "dev/fifo", 0o620)
    _copy(stage, dst, "/dev", dest="/dev", from_context=False)
    null = os.lstat(dst / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(null.st_mode) == 0o666
    fifo = os.lstat(dst / "dev/fifo")
    assert stat.S_ISFIFO(fifo.st_mode) and stat.S_IMODE(fifo.st_mode) == 0o620


def test_a_wildcard_below_a_symlinked_directory_follows_it_inside_the_root(ctx: Path, dst: Path) -> None:
    os.symlink("sub/dir1/dir2", ctx / "linkdir")
    os.symlink("/", ctx / "sub/rootlink")
    _copy(ctx, dst, "linkdir/f*", dest="/w/")
    _copy(ctx, dst, "sub/rootlink/*.go", dest="/r/")  # "/" is the context root, never the host's
    assert os.listdir(dst / "w") == ["foo"]
    assert sorted(os.listdir(dst / "r")) == ["a.go", "b.go"]


def test_stats_count_entries_and_bytes_and_the_root_can_be_the_destination(ctx: Path, dst: Path) -> None:
    os.symlink("a.go", ctx / "link")
    stats = copy_into(source_root=ctx, dest_root=dst, spec=CopySpec(paths=(".",), dest="/"))
    assert (stats.files, stats.bytes) == (6, len("ABRFOOT"))  # 5 files + 1 symlink; directories are not counted
    assert (dst / "sub/dir1/dir2/foo").read_text() == "FOO"
    assert os.readlink(dst / "link") == "a.go"


def test_system_errors_become_build_errors_with_container_paths(ctx: Path, tmp_path: Path) -> None:
    readonly = tmp_path / "ro"
    readonly.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(readonly)], check=True)
    try:
        with pytest.raises(BuildError, match=r"^COPY failed: Read-only file system: /new$") as info:
            _copy(ctx, readonly, "readme", dest="/new/")
    finally:
        subprocess.run(["umount", str(readonly)], check=True)
    assert str(tmp_path) not in str(info.value)

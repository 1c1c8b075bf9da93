"""The deterministic layer tar: order, PAX records, hard links, xattrs, whiteouts, SOURCE_DATE_EPOCH."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import BuildError
from dockyard.oci.tarfs import BLOCK, REG, TarEntry, _raw_header, encode_header, walk, write_entries, write_tar


def _tar_bytes(root: Path, **kwargs: int) -> bytes:
    out = io.BytesIO()
    write_tar(root, out, **kwargs)
    return out.getvalue()


def _members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return tar.getmembers()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "b" / "sub").mkdir(parents=True)
    (root / "a-file").write_text("hello")
    (root / "b" / "sub" / "deep").write_bytes(b"x" * 1000)
    (root / "b" / "link").symlink_to("../a-file")
    os.link(root / "a-file", root / "b" / "hard")
    os.mkfifo(root / "fifo")
    os.chown(root / "b" / "sub" / "deep", 1234, 5678)
    os.chmod(root / "b" / "sub" / "deep", 0o4751)
    for path in root.rglob("*"):
        os.utime(path, (1_000_000, 1_000_000), follow_symlinks=False)
    return root


def test_entries_are_depth_first_sorted_and_parse_with_tarfile(tree: Path) -> None:
    members = _members(_tar_bytes(tree))
    assert [m.name for m in members] == ["a-file", "b", "b/hard", "b/link", "b/sub", "b/sub/deep", "fifo"]
    byname = {m.name: m for m in members}
    assert byname["a-file"].isreg() and byname["a-file"].size == 5
    assert byname["b/hard"].islnk() and byname["b/hard"].linkname == "a-file"
    assert byname["b/link"].issym() and byname["b/link"].linkname == "../a-file"
    assert byname["fifo"].isfifo()
    deep = byname["b/sub/deep"]
    assert (deep.uid, deep.gid, deep.mode, deep.uname, deep.gname) == (1234, 5678, 0o4751, "", "")
    assert deep.mtime == 1_000_000


def test_same_tree_gives_identical_bytes(tree: Path) -> None:
    first = _tar_bytes(tree)
    os.utime(tree / "a-file", (5, 1_000_000))  # atime must not matter
    assert _tar_bytes(tree) == first
    assert len(first) % 512 == 0
    assert first.endswith(b"\0" * 1024)


def test_gnu_tar_lists_the_same_entries(tree: Path, tmp_path: Path) -> None:
    blob = tmp_path / "layer.tar"
    blob.write_bytes(_tar_bytes(tree))
    listing = subprocess.run(["tar", "-tvf", str(blob)], capture_output=True, text=True, check=True).stdout
    lines = listing.splitlines()
    assert [line.split()[-1] if "->" not in line and "link to" not in line else line.split()[5]
            for line in lines] == ["a-file", "b/", "b/hard", "b/link", "b/sub/", "b/sub/deep", "fifo"]
    assert "1234/5678" in lines[5] and lines[5].startswith("-rwsr-x--x")
    assert "b/hard link to a-file" in listing


def test_source_date_epoch_clamps_only_newer_mtimes(tree: Path) -> None:
    os.utime(tree / "fifo", (3_000_000, 3_000_000))
    members = {m.name: m for m in _members(_tar_bytes(tree, source_date_epoch=2_000_000))}
    assert members["fifo"].mtime == 2_000_000
    assert members["a-file"].mtime == 1_000_000


def test_long_names_big_ids_and_binary_xattrs_use_pax(tmp_path: Path) -> None:
    root = tmp_path / "t"
    longdir = root / ("d" * 120)
    longdir.mkdir(parents=True)
    target = longdir / "ünïcode"
    target.write_text("x")
    os.chown(target, 3_000_000, 7)
    capability = bytes.fromhex("0100000200200000000000000000000000000000")
    os.setxattr(target, "security.capability", capability)
    os.setxattr(target, "user.note", b"\xff\x00raw")
    members = {m.name: m for m in _members(_tar_bytes(root))}
    member = members["d" * 120 + "/ünïcode"]
    assert member.uid == 3_000_000
    assert member.pax_headers["SCHILY.xattr.security.capability"].encode("utf-8", "surrogateescape") == capability
    assert member.pax_headers["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape") == b"\xff\x00raw"


def test_header_checksum_and_fields_round_trip_through_tarfile() -> None:
    entry = TarEntry(name=b"dev/console", kind=b"3", mode=0o620, uid=0, gid=5, mtime=42, devmajor=5, devminor=1)
    header = encode_header(entry)
    info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
    assert (info.name, info.ischr(), info.devmajor, info.devminor, info.gid, info.mtime) == (
        "dev/console", True, 5, 1, 5, 42)


def test_overlay_whiteouts_become_oci_markers(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    os.mknod(upper / "etc" / "passwd", stat.S_IFCHR, os.makedev(0, 0))
    (upper / "usr").mkdir()
    os.setxattr(upper / "usr", "trusted.overlay.opaque", b"y")
    os.setxattr(upper / "usr", "trusted.overlay.origin", b"\x00junk")
    (upper / "usr" / "new").write_text("n")
    os.mknod(upper / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    members = _members(_tar_bytes(upper))
    names = [m.name for m in members]
    assert names == ["etc", "etc/.wh.passwd", "null", "usr", "usr/.wh..wh..opq", "usr/new"]
    byname = {m.name: m for m in members}
    assert byname["etc/.wh.passwd"].isreg() and byname["etc/.wh.passwd"].size == 0
    assert byname["null"].ischr() and (byname["null"].devmajor, byname["null"].devminor) == (1, 3)
    assert not any(k.startswith("SCHILY.xattr.trusted.overlay") for k in byname["usr"].pax_headers)


def test_redirect_dir_upperdirs_are_refused(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "moved").mkdir(parents=True)
    os.setxattr(upper / "moved", "trusted.overlay.redirect", b"/orig")
    with pytest.raises(BuildError, match="redirect"):
        list(walk(upper))


def test_sockets_are_skipped(tmp_path: Path) -> None:
    import socket

    root = tmp_path / "s"
    root.mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        assert [e.name for e in walk(root)] == []
    finally:
        sock.close()


@pytest.mark.parametrize("entry", [
    TarEntry(name=b"files/d00/f000123.txt", kind=REG, mode=0o644, mtime=1_764_000_000, size=104),
    TarEntry(name=b"dev/console", kind=b"3", mode=0o620, gid=5, mtime=42, devmajor=5, devminor=1),
    TarEntry(name=b"usr/bin/sh", kind=b"2", mode=0o777, uid=7, linkname=b"busybox"),
    TarEntry(name=b"old/", kind=b"5", mode=0o755, mtime=-5),
], ids=["file", "device", "symlink", "before-1970"])
def test_the_common_header_is_the_general_encoders(entry: TarEntry) -> None:
    """The fast ustar header (constant parts made once) is byte for byte the general one."""
    assert encode_header(entry) == _raw_header(
        name=entry.name, mode=entry.mode, uid=entry.uid, gid=entry.gid, size=entry.size, mtime=max(entry.mtime, 0),
        kind=entry.kind, linkname=entry.linkname, devmajor=entry.devmajor, devminor=entry.devminor)


@pytest.mark.parametrize("size", [0, 100, 512, (1 << 19) - 1, (1 << 19), 3 * (1 << 20) + 7],
                         ids=["empty", "small", "one-block", "below-half-chunk", "half-chunk", "several-chunks"])
def test_file_data_round_trips_whatever_its_size(size: int, tmp_path: Path) -> None:
    """Small files are read in one call into the gathered buffer, big ones stream in chunks:
    either way tarfile reads back the bytes and the archive ends on a block."""
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    out = io.BytesIO()
    write_entries([TarEntry(name=b"f", kind=REG, mode=0o644, size=size, source=bytes(tmp_path / "f"))], out)
    assert len(out.getvalue()) % BLOCK == 0
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        member = tar.extractfile("f")
        assert member is not None and member.read() == data


@pytest.mark.parametrize("size", [100, 3 * (1 << 20)], ids=["small", "big"])
def test_a_file_that_shrank_while_archived_is_an_error(size: int, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * (size - 10))
    entry = TarEntry(name=b"f", kind=REG, mode=0o644, size=size, source=bytes(tmp_path / "f"))
    with pytest.raises(BuildError, match="changed size while being archived"):
        write_entries([entry], io.BytesIO())

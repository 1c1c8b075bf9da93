"""ADD of local tar archives: detection by content, every compression, and no escapes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from dockyard.engine.copy import CopySpec, copy_into
from dockyard.errors import BuildError


def _zstd(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor().compress(data))


def _plain(data: bytes) -> bytes:
    return data


_COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "plain": _plain, "gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress, "zstd": _zstd,
}


def _tar(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            if isinstance(entry, tuple):
                tar.addfile(entry[0], io.BytesIO(entry[1]))
            else:
                tar.addfile(entry)
    return buf.getvalue()


def _file(name: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0,
          mtime: int = 1_600_000_000) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, mtime
    return info, data


def _special(name: str, kind: bytes, link: str = "", mode: int = 0o755) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


def _add(ctx: Path, dst: Path, name: str, dest: str = "/out/", **kw: object) -> None:
    copy_into(source_root=ctx, dest_root=dst,
              spec=CopySpec(paths=(name,), dest=dest, unpack=True, **kw))  # type: ignore[arg-type]


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    ctx, dst = tmp_path / "ctx", tmp_path / "dst"
    ctx.mkdir()
    dst.mkdir()
    return ctx, dst


@pytest.mark.parametrize("kind", sorted(_COMPRESS))
def test_archives_are_extracted_whatever_the_compression(roots: tuple[Path, Path], kind: str) -> None:
    ctx, dst = roots
    data = _tar([_special("app", tarfile.DIRTYPE), _file("app/run.sh", b"#!/bin/sh\n", mode=0o755, uid=7, gid=8),
                 _special("app/link", tarfile.SYMTYPE, "run.sh")])
    (ctx / "misnamed.bin").write_bytes(_COMPRESS[kind](data))
    _add(ctx, dst, "misnamed.bin")
    run = dst / "out/app/run.sh"
    st = os.lstat(run)
    assert run.read_bytes() == b"#!/bin/sh\n"
    assert stat.S_IMODE(st.st_mode) == 0o755 and (st.st_uid, st.st_gid) == (7, 8)  # archive owners kept
    assert st.st_mtime == 1_600_000_000
    assert os.readlink(dst / "out/app/link") == "run.sh"


def test_non_archives_are_copied_like_copy(roots: tuple[Path, Path]) -> None:
    ctx, dst = roots
    (ctx / "empty.tar.gz").write_bytes(b"")
    (ctx / "notes.txt.gz").write_bytes(gzip.compress(b"just text, not a tar"))
    _add(ctx, dst, "empty.tar.gz")
    _add(ctx, dst, "notes.txt.gz")
    assert (dst / "out/empty.tar.gz").read_bytes() == b""
    assert gzip.decompress((dst / "out/notes.txt.gz").read_bytes()) == b"just text, not a tar"


def test_without_unpack_an_archive_is_copied(roots: tuple[Path, Path]) -> None:
    ctx, dst = roots
    (ctx / "a.tar").write_bytes(_tar([_file("inside", b"x")]))
    copy_into(source_root=ctx, dest_root=dst, spec=CopySpec(paths=("a.tar",), dest="/o/"))
    assert (dst / "o/a.tar").is_file() and not (dst / "o/inside").exists()


def test_chown_overrides_archive_owners_and_the_destination_is_made(roots: tuple[Path, Path]) -> None:
    ctx, dst = roots
    (ctx / "a.tar").write_bytes(_tar([_file("d/f", b"x", uid=7, gid=8)]))
    _add(ctx, dst, "a.tar", dest="/new/place", chown=(100, 200))
    for name in ("new", "new/place", "new/place/d/f"):
        st = os.lstat(dst / name)
        assert (st.st_uid, st.st_gid) == (100, 200), name
    implicit = os.lstat(dst / "new/place/d")  # a parent the archive does not list: root's, as Docker's untar
    assert (implicit.st_uid, implicit.st_gid, stat.S_IMODE(implicit.st_mode)) == (0, 0, 0o755)


def test_extraction_merges_with_what_is_there(roots: tuple[Path, Path]) -> None:
    ctx, dst = roots
    (dst / "out/keep").mkdir(parents=True)
    (dst / "out/keep/old").write_text("old")
    (dst / "out/replace").write_text("old")
    (ctx / "a.tar").write_bytes(_tar([_special("keep", tarfile.DIRTYPE), _file("keep/new", b"new"),
                                      _file("replace", b"new")]))
    _add(ctx, dst, "a.tar")
    assert sorted(os.listdir(dst / "out/keep")) == ["new", "old"]
    assert (dst / "out/replace").read_text() == "new"


def test_absolute_names_land_inside_the_destination(roots: tuple[Path, Path]) -> None:
    ctx, dst = roots
    (ctx / "a.tar").write_bytes(_tar([_file("/etc/evil", b"x")]))
    _add(ctx, dst, "a.tar")
    assert (dst / "out/etc/evil").read_bytes() == b"x"


@pytest.mark.parametrize("entries", [
    [_file("../evil", b"x")],
    [_file("a/../../evil", b"x")],
    [_file("f", b"x"), _special("hard", tarfile.LNKTYPE, "../../etc/passwd")],
], ids=["dotdot", "nested-dotdot", "hardlink-out"])
def test_entries_that_climb_out_are_refused(roots: tuple[Path, Path], entries: list[tarfile.TarInfo]) -> None:
    ctx, dst = roots
    (ctx / "evil.tar").write_bytes(_tar(entries))  # type: ignore[arg-type]
    with pytest.raises(BuildError, match="outside of the destination"):
        _add(ctx, dst, "evil.tar")
    assert not (dst / "evil").exists()


def test_relative_symlinks_are_kept_verbatim_and_never_written_through(roots: tuple[Path, Path]) -> None:
    """moby/go-archive Unpack (BuildKit's untar) stores symlink targets verbatim: "..", or a
    chain climbing above the destination, is archive data that resolves inside the image's root
    when used. Entries written *through* such a link still land inside the destination."""
    ctx, dst = roots
    (ctx / "a.tar").write_bytes(_tar([
        _special("lib", tarfile.SYMTYPE, "usr/lib"), _special("up", tarfile.SYMTYPE, "../../.."),
        _special("parent", tarfile.SYMTYPE, ".."), _special("abs", tarfile.SYMTYPE, "/"),
        _file("abs/planted", b"x")]))
    _add(ctx, dst, "a.tar")
    assert os.readlink(dst / "out/up") == "../../.." and os.readlink(dst / "out/parent") == ".."
    assert os.readlink(dst / "out/lib") == "usr/lib"
    assert (dst / "out/planted").read_bytes() == b"x"  # an absolute link resolves inside the destination
    assert not (dst / "planted").exists()
    # writing *through* a relative link that climbs out: go-archive's os.Root refuses ("path escapes")
    (ctx / "b.tar").write_bytes(_tar([_special("up2", tarfile.SYMTYPE, "../.."), _file("up2/evil", b"x")]))
    with pytest.raises(BuildError, match="path escapes from parent"):
        _add(ctx, dst, "b.tar")
    assert not (dst / "evil").exists() and not (ctx.parent / "evil").exists()


def test_a_pax_global_header_applies_to_nothing(roots: tuple[Path, Path]) -> None:
    """Go's archive/tar hands a pax global header (typeflag g) over as an entry of its own and
    go-archive Unpack skips it, so its records (here path, uid and mtime) change no other entry;
    Python's tarfile alone would apply them to every later entry."""
    ctx, dst = roots
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"path": "hijacked", "uid": "4242", "mtime": "5", "comment": "git sha"}) as tar:
        for info, data in (_file("a.txt", b"a", uid=1), _file("d/b.txt", b"b", uid=2)):
            tar.addfile(info, io.BytesIO(data))
    (ctx / "g.tar").write_bytes(buf.getvalue())
    _add(ctx, dst, "g.tar")
    assert sorted(os.listdir(dst / "out")) == ["a.txt", "d"]
    st = os.lstat(dst / "out/d/b.txt")
    assert (st.st_uid, int(st.st_mtime)) == (2, 1_600_000_000)
    assert not (dst / "out/pax_global_header").exists()


def test_an_archive_cannot_write_through_its_own_absolute_symlink(roots: tuple[Path, Path], tmp_path: Path) -> None:
    ctx, dst = roots
    host = tmp_path / "host"
    host.mkdir()
    (ctx / "a.tar").write_bytes(_tar([_special("esc", tarfile.SYMTYPE, str(host)), _file("esc/planted", b"x")]))
    _add(ctx, dst, "a.tar")
    assert list(host.iterdir()) == []
    assert (dst / "out" / str(host).lstrip("/") / "planted").read_bytes() == b"x"


def test_hard_links_inside_an_archive_are_kept(roots: tuple[Path, Path]) -> None:
    ctx, dst = roots
    (ctx / "a.tar").write_bytes(_tar([_file("f", b"data"), _special("g", tarfile.LNKTYPE, "f")]))
    _add(ctx, dst, "a.tar")
    assert os.lstat(dst / "out/f").st_ino == os.lstat(dst / "out/g").st_ino


def test_a_hard_link_header_sets_the_shared_inode_metadata(roots: tuple[Path, Path]) -> None:
    """Docker's untar applies every header to the path it makes, so a hard link's own mode and
    owner end up on the inode it shares with its target (found by the buildah differential test:
    GNU tar writes link headers with the file's mode, other archivers may not)."""
    ctx, dst = roots
    link = _special("g", tarfile.LNKTYPE, "f", mode=0o644)
    link.uid, link.gid = 7, 8
    (ctx / "a.tar").write_bytes(_tar([_file("f", b"data", mode=0o600, uid=1, gid=2), link]))
    _add(ctx, dst, "a.tar")
    st = os.lstat(dst / "out/f")
    assert st.st_ino == os.lstat(dst / "out/g").st_ino
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o644, 7, 8)

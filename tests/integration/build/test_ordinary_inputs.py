"""Ordinary inputs get a one-line error naming the file and line or the path, never "internal
error" (issue 18, item 7); each case is a real ``dockyard build`` (FROM scratch: no registry)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration

# a gzip header, then a deflate block of the reserved type 3: not a stream any decoder accepts
CORRUPT_GZ = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x07garbage after a reserved block type"


def _ctx(tmp_path: Path, dockerfile: str | bytes, files: dict[str, bytes] | None = None) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    data = dockerfile.encode() if isinstance(dockerfile, str) else dockerfile
    (ctx / "Dockerfile").write_bytes(data)
    for name, content in (files or {}).items():
        (ctx / name).write_bytes(content)
    return ctx


def _fails(*args: str) -> list[str]:
    """Run a build that must fail cleanly; its ``error:``/``hint:`` lines."""
    out = dockyard("build", "--progress", "quiet", *args, check=False)
    assert out.returncode not in (0, 70), out.stderr
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr, out.stderr
    return [line for line in out.stderr.splitlines() if line.startswith(("error:", "hint:"))]


def test_add_of_a_corrupt_gzip_copies_it_as_a_plain_file(tmp_path: Path) -> None:
    """BuildKit's ADD asks moby/go-archive's IsArchivePath (archive.go): decompress, read one tar
    header; any error means "not an archive", and the file is copied as it is."""
    ctx = _ctx(tmp_path, "FROM scratch\nADD bad.tar.gz /d/\n", {"bad.tar.gz": CORRUPT_GZ})
    dockyard("build", "--progress", "quiet", "-o", f"type=local,dest={tmp_path / 'out'}", str(ctx))
    assert (tmp_path / "out" / "d" / "bad.tar.gz").read_bytes() == CORRUPT_GZ


def test_a_dockerfile_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, b'FROM scratch\nLABEL a="caf\xe9"\n')
    lines = _fails(str(ctx))
    assert lines[0] == f"error: {ctx / 'Dockerfile'}:2: not UTF-8: byte 0xe9 at column 13"
    assert lines[1].startswith("hint: save the Dockerfile as UTF-8")


def test_deeply_nested_substitutions_name_their_line(tmp_path: Path) -> None:
    word = "${a:-" * 400 + "x" + "}" * 400
    ctx = _ctx(tmp_path, f"FROM scratch\nARG a={word}\n")
    lines = _fails(str(ctx))
    assert lines[0].startswith(f"error: {ctx / 'Dockerfile'}:2: ")
    assert lines[0].endswith("substitutions nested more than 100 deep: split them over several ARGs")


def test_a_thousand_chained_stages_build(tmp_path: Path) -> None:
    chain = "".join(f"FROM s{i - 1} AS s{i}\n" for i in range(1, 1000))
    ctx = _ctx(tmp_path, f"FROM scratch AS s0\nCOPY a /a\n{chain}COPY b /b\n", {"a": b"a", "b": b"b"})
    dockyard("build", "--progress", "quiet", "-o", f"type=local,dest={tmp_path / 'out'}", str(ctx))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "b"]


def test_a_long_chain_of_copy_from_is_a_clear_error(tmp_path: Path) -> None:
    chain = "".join(f"FROM scratch AS s{i}\nCOPY --from=s{i - 1} /a /a\n" for i in range(1, 1500))
    ctx = _ctx(tmp_path, f"FROM scratch AS s0\nCOPY a /a\n{chain}", {"a": b"a"})
    lines = _fails("--dry-run", str(ctx))
    assert lines[0] == (f"error: {ctx / 'Dockerfile'}: stages depend on each other too deeply to plan "
                        "(a chain of hundreds)")


def test_chown_beyond_32_bits_names_its_line(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM scratch\nCOPY --chown=4294967296:0 a /a\n", {"a": b"a"})
    assert _fails(str(ctx))[0] == (f"error: {ctx / 'Dockerfile'}:2: invalid --chown=4294967296:0: "
                                   "4294967296 is out of range (0-4294967294)")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs of our own (unmounted afterwards)."""
    where = tmp_path / f"tiny-{secrets.token_hex(4)}"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "dockyard-test-tiny", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_full_disk_names_the_filesystem_that_is_full(tmp_path: Path, tiny_fs: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _ctx(tmp_path, "FROM scratch\nCOPY big /big\n", {"big": secrets.token_bytes(5_000_000)})
    out = tmp_path / "out"
    dockyard("build", "--progress", "quiet", "-o", f"type=local,dest={out}", str(ctx))  # fits elsewhere
    lines = _fails("-o", f"type=local,dest={tiny_fs / 'out'}", str(ctx))
    assert lines[0] == (f"error: export: no space left on device: the filesystem mounted at {tiny_fs} is full "
                        f"(writing {tiny_fs / 'out'})")
    monkeypatch.setenv("DOCKYARD_ROOT", str(tiny_fs / "root"))
    lines = _fails(str(ctx))
    assert lines[0].startswith(f"error: {ctx / 'Dockerfile'}:2: [stage-0 1/1] COPY big /big: no space left on device: "
                               f"the filesystem mounted at {tiny_fs} is full")
    assert lines[1].startswith("hint: free space there")


def test_unwritable_outputs_name_their_path(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM scratch\nCOPY a /a\n", {"a": b"a"})
    readonly = tmp_path / f"ro-{secrets.token_hex(4)}"
    readonly.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "dockyard-test-ro", str(readonly)], check=True)
    try:
        metadata = readonly / "meta.json"
        lines = _fails("--metadata-file", str(metadata), str(ctx))
        assert lines[0] == f"error: --metadata-file: {metadata}: Read-only file system"
        for kind in ("local", "oci", "tar"):
            lines = _fails("-o", f"type={kind},dest={readonly / 'out'}", str(ctx))
            assert lines[0] == f"error: export: {readonly / 'out'}: Read-only file system", kind
    finally:
        subprocess.run(["umount", "-l", str(readonly)], check=True)

"""Issue 11 §1 reproductions through real builds: the COPY cache key follows what COPY copies.

Each case was a stale cache hit (or an internal error) when the key used fnmatch while the
copy used Go's rules. BuildKit rules followed: wildcards are Go's ``path.Match`` (fsutil
``copy/copy.go`` ``ResolveWildcards``, buildkit ``cache/contenthash/checksum.go``
``includedPaths``); ``--parents`` turns the part after the pivot into an include pattern
(buildkit ``frontend/dockerfile/dockerfile2llb/convert_copy.go`` ``dispatchCopy``); a bad
pattern fails the cache-key computation (``path.Match`` returns ``ErrBadPattern``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard import progress
from dockyard.phases.build import build
from dockyard.phases.request import BuildOptions
from dockyard.platform import Platform
from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration
AMD64 = (Platform.parse("linux/amd64"),)


def _ctx(tmp_path: Path, dockerfile: str, files: dict[str, str]) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(text)
    return ctx


def _export(ctx: Path, out: Path) -> None:
    dockyard("build", "--platform", "linux/amd64", "-o", f"type=local,dest={out}", str(ctx))


def _fails(ctx: Path, out: Path) -> str:
    """Build ``ctx``, which must fail with one clean error line; returns stderr."""
    done = dockyard("build", "--platform", "linux/amd64", "-o", f"type=local,dest={out}", str(ctx), check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    return done.stderr


def _ran(ctx: Path) -> list[str]:
    events: list[progress.Event] = []
    build(BuildOptions(context=ctx, platforms=AMD64), listener=events.append)
    return [e.name.split("] ", 1)[1] for e in events if isinstance(e, progress.Started)]


def test_negated_class_copies_and_keys_the_same_files(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM scratch\nCOPY file[^a].txt /out/\n", {"filea.txt": "a1", "fileb.txt": "b1"})
    _export(ctx, tmp_path / "o1")
    assert sorted(p.name for p in (tmp_path / "o1/out").iterdir()) == ["fileb.txt"]
    assert _ran(ctx) == []  # warm
    (ctx / "filea.txt").write_text("a2 is not copied")
    assert _ran(ctx) == []  # not copied, so not in the key
    (ctx / "fileb.txt").write_text("b2")
    assert _ran(ctx) == ["COPY file[^a].txt /out/"]
    _export(ctx, tmp_path / "o2")
    assert (tmp_path / "o2/out/fileb.txt").read_text() == "b2"


def test_parents_with_double_star_keys_every_copied_file(tmp_path: Path) -> None:
    files = {"src/a.txt": "a", "src/x/b.txt": "b", "src/x/y/c.txt": "c1", "src/x/y/c.go": "go", "top.txt": "t"}
    ctx = _ctx(tmp_path, "FROM scratch\nCOPY --parents ./src/**/*.txt /deep/\n", files)
    _export(ctx, tmp_path / "o1")
    got = sorted(str(p.relative_to(tmp_path / "o1/deep")) for p in (tmp_path / "o1/deep").rglob("*") if p.is_file())
    assert got == ["src/a.txt", "src/x/b.txt", "src/x/y/c.txt"]
    assert _ran(ctx) == []
    (ctx / "src/x/y/c.go").write_text("not copied")
    assert _ran(ctx) == []
    (ctx / "src/x/y/c.txt").write_text("c2")
    assert _ran(ctx) == ["COPY --parents ./src/**/*.txt /deep/"]
    _export(ctx, tmp_path / "o2")
    assert (tmp_path / "o2/deep/src/x/y/c.txt").read_text() == "c2"


def test_bad_pattern_is_a_dockerfile_error_with_its_line(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM scratch\n\nCOPY file[.txt /\n", {"file[.txt": "x"})
    err = _fails(ctx, tmp_path / "o")
    assert "Dockerfile:3" in err and "syntax error in pattern" in err
    # a class holding "[" names it (Go's path.Match); "\\[" would reach BuildKit as part of the name
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY file[[].txt /\n")
    _export(ctx, tmp_path / "o")
    assert (tmp_path / "o/file[.txt").read_text() == "x"


def test_bad_pattern_in_a_stage_copy_and_in_dockerignore(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "FROM scratch AS a\nCOPY x /x\nFROM scratch\nCOPY --from=a [z /\n", {"x": "x"})
    err = _fails(ctx, tmp_path / "o")
    assert "Dockerfile:4" in err and "syntax error in pattern" in err
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY x /x\n")
    (ctx / ".dockerignore").write_text("# comment\n*.tmp\nbad[\n")
    err = _fails(ctx, tmp_path / "o")
    assert ".dockerignore:3" in err and "bad[" in err, err

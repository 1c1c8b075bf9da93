"""Issue 11 §1 reproductions through real builds: the COPY cache key follows what COPY copies.

Each case was a stale cache hit (or an internal error) when the key used fnmatch while the
copy used Go's rules. BuildKit rules followed: wildcards are Go's ``path.Match`` (fsutil
``copy/copy.go`` ``ResolveWildcards``, buildkit ``cache/contenthash/checksum.go``
``includedPaths``); ``--parents`` turns the part after the pivot into an include pattern
(buildkit ``frontend/dockerfile/dockerfile2llb/convert_copy.go`` ``dispatchCopy``); a bad
pattern fails the cache-key computation (``path.Match`` returns ``ErrBadPattern``).
"""

from __future__ import annotations

import json
import os
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


def test_bind_mounts_of_the_context_see_only_what_dockerignore_lets_through(busybox_base: str,
                                                                           tmp_path: Path) -> None:
    """Issue 18 item 2. BuildKit sends the context through fsutil's filtered walker (filter.go
    filterFS.Walk) and every step, a bind mount included, reads what was sent: excluded files
    are not there. A read-write bind of the context works, its writes are discarded."""
    files = {".env": "API_KEY=s3cr3t-env\n", "tls/server.key": "KEY-s3cr3t\n", "tls/server.pem": "PEM\n",
             "tls/ca.crt": "CA\n", "app/main.sh": "echo app\n", "app/.env": "nested\n",
             ".dockerignore": "**/.env\n**/*.key\n**/*.pem\n"}
    ctx = _ctx(tmp_path, f"FROM {busybox_base}\n"
               "RUN --mount=type=bind,target=/src cd /src && find . | sort > /listing"
               " && (cat .env tls/server.key tls/server.pem app/.env 2>/dev/null || true) > /leaked\n"
               "RUN --mount=type=bind,source=tls,target=/tls ls -a /tls > /tls-listing\n"
               "RUN --mount=type=bind,target=/src,rw touch /src/written && ls /src/written > /rw-ok\n"
               "RUN --mount=type=bind,target=/src stat -c %a /src > /src-mode\n"
               "RUN --mount=type=bind,source=link-to-key,target=/k cat /k > /via-link || true\n", files)
    os.symlink("tls/server.key", ctx / "link-to-key")
    os.chmod(ctx, 0o750)
    out = _fails(ctx, tmp_path / "o1")
    assert "link-to-key" in out and "excluded by .dockerignore" in out  # a link into an excluded file
    dockerfile = (ctx / "Dockerfile").read_text().splitlines()
    (ctx / "Dockerfile").write_text("\n".join(dockerfile[:-1]) + "\n")
    _export(ctx, tmp_path / "o")
    listing = (tmp_path / "o/listing").read_text().split()
    assert "./tls/ca.crt" in listing and "./app/main.sh" in listing
    assert not [p for p in listing if p.endswith((".env", ".key", ".pem"))], listing
    assert (tmp_path / "o/leaked").read_text() == ""
    assert (tmp_path / "o/tls-listing").read_text().split() == [".", "..", "ca.crt"]
    assert (tmp_path / "o/rw-ok").read_text() == "/src/written\n"
    assert not (ctx / "written").exists()
    assert (tmp_path / "o/src-mode").read_text() == "750\n"  # the mount shows the context's own mode


def test_context_symlinks_resolve_inside_the_context_for_key_and_copy(busybox_base: str, tmp_path: Path,
                                                                       dockyard_root: Path) -> None:
    """Issue 18 item 4. BuildKit resolves a named source's symlinks inside the context (fsutil
    copy/copy.go rootPath with FollowLinks; buildkit cache/contenthash/checksum.go
    getFollowLinks): a link to /etc names the context's etc/, never the host's, and the key
    follows the file the copy copies."""
    ctx = _ctx(tmp_path, "FROM scratch\nCOPY cfg /cfg\nCOPY . /all/\n", {"real/config.txt": "v1\n"})
    os.symlink("real/config.txt", ctx / "cfg")
    os.symlink("/etc", ctx / "hostetc")
    os.symlink("/proc/self/environ", ctx / "procenv")
    _export(ctx, tmp_path / "o1")
    assert (tmp_path / "o1/cfg").read_text() == "v1\n"
    assert os.readlink(tmp_path / "o1/all/hostetc") == "/etc"  # copied as a link, never followed
    assert _ran(ctx) == []
    (ctx / "real/config.txt").write_text("v2\n")
    assert _ran(ctx)[0] == "COPY cfg /cfg"  # the followed file is in the key
    _export(ctx, tmp_path / "o2")
    assert (tmp_path / "o2/cfg").read_text() == "v2\n"
    # the stat cache: context-relative paths only, readable by its owner only
    caches = list((dockyard_root / "statcache").glob("*.json"))
    assert caches
    for cache in caches:
        assert cache.stat().st_mode & 0o777 == 0o600
        assert (dockyard_root / "statcache").stat().st_mode & 0o777 == 0o700
        for row in json.loads(cache.read_text()):
            assert not row[0].startswith("/") and (ctx / row[0]).is_file(), row
    # a link out of the context or into /proc names nothing: a clean "not found", no internal error
    for source in ("hostetc/passwd", "procenv", "hostetc"):
        (ctx / "Dockerfile").write_text(f"FROM scratch\nCOPY {source} /x\n")
        err = _fails(ctx, tmp_path / "o3")
        assert "Dockerfile:2" in err and f"'{source}' not found in build context" in err, err

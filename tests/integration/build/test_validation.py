"""Bad input through the real CLI, checked as BuildKit and buildx check it (issue 18, item 9):
one line, no traceback, a non-zero exit, and nothing created or built when the input is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _dockyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dockyard", "build", "--progress", "plain", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "DOCKYARD_ROOT": str(cwd / "root")})


def _context(tmp_path: Path, dockerfile: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    return ctx


def _error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    return next(line for line in out.stderr.splitlines() if line.startswith("error: "))


@pytest.mark.parametrize(("tag", "message"), [
    ("", "invalid tag '': invalid reference format"),  # buildx: reference.ParseNormalizedNamed
    ("Bad:Tag", "invalid tag 'Bad:Tag': "),
])
def test_bad_tags_are_named_as_tags(tmp_path: Path, tag: str, message: str) -> None:
    ctx = _context(tmp_path, "FROM scratch\nCOPY Dockerfile /\n")
    line = _error(_dockyard(ctx, "-t", tag, "."))
    assert message in line and "--output" not in line


def test_unknown_chown_user_names_the_dockerfile_line(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM scratch\nCOPY --chown=nosuch Dockerfile /\n")
    line = _error(_dockyard(ctx, "-o", f"type=oci,dest={tmp_path / 'o.tar'}", "."))
    assert line.startswith("error: Dockerfile:2: unable to find user nosuch")


def test_file_outputs_do_not_create_parent_directories(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM scratch\nCOPY Dockerfile /\n")
    for spec in (f"type=oci,dest={tmp_path}/no/such/o.tar", f"type=tar,dest={tmp_path}/no/such/r.tar"):
        line = _error(_dockyard(ctx, "-o", spec, "."))
        assert f"directory {tmp_path}/no/such does not exist" in line
    line = _error(_dockyard(ctx, "--metadata-file", f"{tmp_path}/no/m.json", "-o", f"type=oci,dest={tmp_path}/o.tar",
                            "."))
    assert "does not exist" in line
    assert not (tmp_path / "no").exists() and not (tmp_path / "o.tar").exists()
    # a local directory output is created with its parents, as BuildKit's filesync does (MkdirAll)
    ok = _dockyard(ctx, "-o", f"type=local,dest={tmp_path}/out/a/b", ".")
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out" / "a" / "b" / "Dockerfile").is_file()


def test_build_prints_check_warnings_as_buildx_does(tmp_path: Path) -> None:
    # validateStageNames: DuplicateStageName and ReservedStageName (linter/ruleset.go wording)
    ctx = _context(tmp_path, "FROM scratch AS a\nCOPY Dockerfile /\nFROM scratch AS a\nCOPY Dockerfile /\n"
                             "FROM scratch AS scratch\nCOPY Dockerfile /\n")
    out = _dockyard(ctx, "-o", f"type=oci,dest={tmp_path / 'o.tar'}", ".")
    assert out.returncode == 0, out.stderr
    assert " 2 warnings found (use dockyard build --call=check to expand):" in out.stderr
    assert ' - DuplicateStageName: Duplicate stage name "a", stage names should be unique (line 3)' in out.stderr
    assert (' - ReservedStageName: Stage name should not use the same name as reserved stage "scratch" (line 5)'
            in out.stderr)


def test_check_error_true_stops_the_build(tmp_path: Path) -> None:
    # linter.go Linter.Error: "lint violation found for rules: ..."
    ctx = _context(tmp_path, "# check=error=true\nFROM scratch AS a\nCOPY Dockerfile /\nFROM scratch AS a\n")
    out = _dockyard(ctx, "-o", f"type=oci,dest={tmp_path / 'o.tar'}", ".")
    assert "lint violation found for rules: DuplicateStageName" in _error(out)
    assert "#1 " not in out.stderr and not (tmp_path / "o.tar").exists()

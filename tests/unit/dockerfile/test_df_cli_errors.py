"""Bad Dockerfiles through the real CLI: exit code non-zero, one stderr line with FILE:LINE, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.dockerfile.request import BuildRequest, answer
from dockyard.errors import UsageError

CASES = [
    ("unterminated heredoc", "FROM alpine\nRUN echo\nRUN <<EOF\nfoo\n", [], 3, "unterminated heredoc"),
    ("unknown instruction", "FROM alpine\nRUNN echo\n", [], 2, "did you mean RUN?"),
    ("unknown flag", "FROM alpine\nCOPY --form=x a b\n", [], 2, "did you mean --from?"),
    ("bad chmod", "FROM alpine\nCOPY --chmod=999z a b\n", [], 2, "--chmod"),
    ("bad network", "FROM alpine\nRUN --network=hots echo\n", [], 2, "did you mean host?"),
    ("bad duration", "FROM alpine\nHEALTHCHECK --interval=5x CMD x\n", [], 2, "invalid duration"),
    ("bad retries", "FROM alpine\nHEALTHCHECK --retries=-1 CMD x\n", [], 2, "negative"),
    ("bad mount type", "FROM alpine\nRUN --mount=type=cachee,target=/x echo\n", [], 2, "did you mean cache?"),
    ("bad mount key", "FROM alpine\nRUN --mount=type=cache,targte=/x echo\n", [], 2, "did you mean target?"),
    ("missing stage index", "FROM alpine AS a\nCOPY --from=5 a b\n", [], 2, "stage index 5"),
    (
        "copy --from cycle",
        "FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nCOPY --from=a /y /y\n",
        ["--target", "b"],
        2,
        "circular dependency",
    ),
    ("FROM undefined ARG", "FROM $BASE\n", [], 1, "should not be blank"),
    ("FROM undefined tag ARG", "FROM alpine:$TAG\n", [], 1, "undefined ARG TAG"),
    ("invalid platform", "FROM --platform=linux/armx alpine\n", [], 1, "unknown architecture"),
    ("instruction before FROM", "ARG X\nRUN x\n", [], 2, "before the first FROM"),
    ("missing context file", "FROM alpine\nCOPY missing /x\n", [], 2, "not found in build context"),
    ("ENV without value", "FROM alpine\nENV A\n", [], 2, "ENV"),
    ("ONBUILD FROM", "FROM alpine\nONBUILD FROM x\n", [], 2, "ONBUILD"),
    ("SHELL not JSON", "FROM alpine\nSHELL /bin/bash -c\n", [], 2, "JSON"),
]


def _run(tmp_path: Path, text: str, extra: list[str]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "Dockerfile").write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "dockyard", "build", "--dry-run", *extra, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(("name", "text", "extra", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_dockerfile_one_line(
    tmp_path: Path, *, name: str, text: str, extra: list[str], line: int, fragment: str
) -> None:
    proc = _run(tmp_path, text, extra)
    assert proc.returncode != 0, name
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"Dockerfile:{line}: " in lines[0]
    assert fragment in lines[0]
    assert proc.stdout == ""


def test_missing_target_names_the_file(tmp_path: Path) -> None:
    proc = _run(tmp_path, "FROM alpine AS build\n", ["--target", "buld"])
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        f"error: {tmp_path}/Dockerfile: target stage 'buld' could not be found (did you mean build?)"
    ]


def test_frontend_does_not_execute_builds(tmp_path: Path) -> None:
    """A real build is the engine's job: the frontend's answer() refuses it instead of guessing."""
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    request = BuildRequest(context=tmp_path, dockerfile=tmp_path / "Dockerfile")
    with pytest.raises(UsageError, match="executing a build"):
        answer(request)

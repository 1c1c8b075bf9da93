"""Run the real ``dockyard`` command in a subprocess (the test's DOCKYARD_ROOT/XDG_CONFIG_HOME apply)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run(*args: str, env: dict[str, str] | None = None, check: bool = True,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m dockyard ARGS``; ``check`` asserts exit 0 and shows stderr when not."""
    full_env = {**os.environ, **(env or {})}
    out = subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True, text=True,
                         timeout=120, env=full_env, input=stdin)
    if check:
        assert out.returncode == 0, f"dockyard {' '.join(args)} exited {out.returncode}: {out.stderr}"
    return out


def ls_json(env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``dockyard ls --format json`` as {name: object}."""
    lines = run("ls", "--format", "json", env=env).stdout.splitlines()
    return {doc["Name"]: doc for doc in map(json.loads, lines)}


def assert_one_line_error(out: subprocess.CompletedProcess[str], text: str) -> None:
    """Non-zero exit, an ``error:`` first line containing ``text``, at most a hint after, no traceback."""
    assert out.returncode != 0
    lines = out.stderr.splitlines()
    assert lines and lines[0].startswith("error: ") and text in lines[0], out.stderr
    assert len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:]), out.stderr
    assert "Traceback" not in out.stderr

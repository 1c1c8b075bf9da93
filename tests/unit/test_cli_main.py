"""The CLI's shape: every buildx verb listed, unbuilt verbs exit 2 in one line, errors stay one line."""

from __future__ import annotations

import subprocess
import sys

from dockyard.cli.main import VERBS

BUILDX_VERBS = ["build", "imagetools", "create", "use", "ls", "inspect", "rm", "stop", "prune", "du",
                "login", "logout", "version", "registry", "meta", "node", "sign", "verify",
                "generate-key-pair"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True, text=True, timeout=60)


def test_every_verb_is_in_the_table() -> None:
    assert list(VERBS) == BUILDX_VERBS


def test_help_lists_every_verb() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for verb in BUILDX_VERBS:
        assert f"  {verb} " in out.stdout
    assert "--builder" in out.stdout and "--debug" in out.stdout


def test_help_imports_no_verb_module() -> None:
    code = ("import sys; from dockyard.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('dockyard.cli.') "
            "and m not in ('dockyard.cli.main', 'dockyard.cli.methodcache')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_verb_is_a_usage_error() -> None:
    out = _run("frobnicate")
    assert out.returncode == 2
    assert "No such command" in out.stderr
    assert "Traceback" not in out.stderr


def test_version_names_runtime_and_emulator() -> None:
    out = _run("version")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].startswith("dockyard 0.")
    assert lines[1].startswith("runc") and lines[2].startswith("qemu")
    assert lines[3].split() == ["mode", "root"]  # tests run as root; the rootless line: tests/integration/rootless


def test_debug_shows_traceback_for_dockyard_errors() -> None:
    out = _run("--debug", "build", "/nonexistent-context")
    assert out.returncode == 2
    assert "Traceback" in out.stderr
    assert out.stderr.rstrip().splitlines()[-2].startswith("error: ")

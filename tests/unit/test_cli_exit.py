"""The CLI's process exit skips the interpreter's teardown (issue 17: ~30 ms after a build) but
keeps what an exit must do: other threads finish, atexit hooks run, output is flushed, the
status is the command's. Called in-process with ``argv``, ``main`` still raises SystemExit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.cli.main import main

_SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
out = Path(sys.argv[1])
def late():
    time.sleep(0.3)
    (out / "thread").write_text("done")
threading.Thread(target=late).start()  # not a daemon: the exit waits for it
atexit.register(lambda: (out / "atexit").write_text("ran"))
sys.stdout.write("x" * 100_000)  # buffered, not yet written when the exit begins
sys.argv = ["dockyard", *sys.argv[2:]]
from dockyard.cli.main import main
main()
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _SCRIPT, str(tmp_path), *args], capture_output=True, text=True,
                          timeout=60)


def test_the_exit_waits_for_threads_runs_hooks_and_flushes(tmp_path: Path) -> None:
    done = _run(tmp_path, "version")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "thread").read_text() == "done"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert done.stdout.startswith("x" * 100_000) and "dockyard" in done.stdout[100_000:]


def test_the_exit_keeps_the_commands_status(tmp_path: Path) -> None:
    done = _run(tmp_path, "frobnicate")
    assert done.returncode == 2 and "No such command" in done.stderr
    assert (tmp_path / "atexit").read_text() == "ran"


def test_in_process_callers_get_system_exit() -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2

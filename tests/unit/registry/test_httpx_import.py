"""httpx is loaded without its command-line client, and nothing of that stays behind in the process.

The client (``httpx._main``) pulls in rich, pygments and click's help machinery; the registry
package turns that one import down once (``dockyard.registry._WithoutHttpxCli``) instead of
leaving a ``None`` in ``sys.modules``. Run in a fresh interpreter: the test process has httpx loaded.
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import dockyard.registry.transport
assert "httpx" in sys.modules
print(sorted(m for m in ("rich", "pygments", "httpx._main") if m in sys.modules))
print([type(f).__name__ for f in sys.meta_path if type(f).__name__ == "_WithoutHttpxCli"])
import httpx._main  # a program that wants httpx's CLI afterwards still gets it
print(type(httpx._main.main).__name__)
"""


def test_httpx_loads_without_its_cli_and_leaves_no_trace() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    not_loaded, finders, cli = out.stdout.splitlines()
    assert not_loaded == "[]"  # neither rich nor pygments nor the CLI module came with httpx
    assert finders == "[]"  # the finder took itself off sys.meta_path once used
    assert cli == "Command"  # click's command object: the real httpx.main, importable on demand


def test_httpx_loaded_first_is_left_alone() -> None:
    probe = "import sys, httpx, dockyard.registry; print([type(f).__name__ for f in sys.meta_path])"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "_WithoutHttpxCli" not in out.stdout

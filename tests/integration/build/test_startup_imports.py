"""What a fully cached local build imports: nothing it does not use (issue 17, start-up).

Start-up is most of a warm trivial build (every module imported is parsed and its dataclasses
created), so the set of modules is pinned here, never a time: a build that contacts no
registry loads no HTTP client (httpx, whose own CLI pulls in rich and pygments), plain
progress loads no terminal UI, and no --sign/--attest/gate/remote-node machinery comes along.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.build.buildrig import dockyard

# loaded only when what needs them runs: a registry contacted, a tty, --sign, a gate policy, a remote node
# (ssh or kubernetes), --tags-from-git, --cache-from, a zstd archive ADDed
ABSENT = ("httpx", "httpcore", "h11", "rich", "pygments", "cryptography", "email", "zstandard",
          "dockyard.registry.transport", "dockyard.registry.blobs", "dockyard.registry.manifests",
          "dockyard.signing", "dockyard.gates.checks", "dockyard.gates.reports", "dockyard.builders.protocol.session",
          "dockyard.attest.maker", "dockyard.attest.catalog", "dockyard.attest.spdx",
          "dockyard.builders.kube", "dockyard.builders.ssh", "dockyard.builders.remotenode",
          "dockyard.release.meta", "dockyard.release.gitcontext", "dockyard.release.tagspec",
          "dockyard.engine.cacheimport",
          # loaded by what uses them only: mount(2) through ctypes, a misspelt option's suggestion, a TOML file read
          "ctypes", "difflib", "tomllib")


def imported(stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2 and "imported package" not in line}


def test_a_fully_cached_local_build_imports_no_http_client_ui_or_signing(tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    dockyard("build", "--progress", "plain", str(context))  # fills the cache
    warm = subprocess.run([sys.executable, "-X", "importtime", "-m", "dockyard", "build", "--progress", "plain",
                           str(context)], capture_output=True, text=True, timeout=300, check=False)
    assert warm.returncode == 0, warm.stderr
    assert "CACHED" in warm.stderr  # the step really came from the cache
    loaded = imported(warm.stderr)
    assert {"dockyard.phases.build", "dockyard.solver", "click"} <= loaded  # the parse sees the build's imports
    unexpected = sorted(m for m in loaded if any(m == a or m.startswith(a + ".") for a in ABSENT))
    assert not unexpected

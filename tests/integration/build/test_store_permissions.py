"""The data root is private (issue 18, item 10): 0700 like Docker's /var/lib/docker, and the files
naming host paths or digests (stat cache, cache records) 0600. Checked with stat and, independently,
by reading as the unprivileged user ``nobody`` (runuser)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration


def test_data_root_and_path_files_are_private(busybox_base: str, tmp_path: Path, dockyard_root: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nCOPY a.txt /a.txt\nRUN echo x > /x\n")
    (ctx / "a.txt").write_text("a\n")
    dockyard("build", "--progress", "quiet", str(ctx))
    assert stat.S_IMODE(dockyard_root.stat().st_mode) == 0o700
    stat_files = list((dockyard_root / "statcache").glob("*.json"))
    assert stat_files and '"a.txt"' in stat_files[0].read_text()  # it does hold the context's paths and digests
    for path in [*stat_files, dockyard_root / "cache.db"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in (stat_files[0], dockyard_root / "cache.db", dockyard_root / "snapshots"):
        peek = subprocess.run(["runuser", "-u", "nobody", "--", "ls", "-l", str(path)], capture_output=True,
                              text=True, check=False)
        assert peek.returncode != 0 and "Permission denied" in peek.stderr, (path, peek.stdout)


def test_an_open_data_root_is_closed(tmp_path: Path, dockyard_root: Path) -> None:
    dockyard_root.mkdir(mode=0o755)
    dockyard_root.chmod(0o755)
    dockyard("du")
    assert stat.S_IMODE(dockyard_root.stat().st_mode) == 0o700

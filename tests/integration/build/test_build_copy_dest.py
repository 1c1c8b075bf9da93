"""Issue 11 §5: COPY onto what the image already has, where the copy must fail as BuildKit fails.

Each Dockerfile is also given to buildah 1.28; where buildah does something else the test
says what, and follows BuildKit. The rules (tonistiigi/fsutil copy/copy.go):

- below the copied source, a directory meeting an existing non-directory (a symlink, even one
  to a directory) fails: ``copyDirectoryOnly`` lstat's the target, "cannot copy to
  non-directory";
- a file meeting an existing directory fails: ``ensureEmptyFileTarget``, "cannot replace to
  directory ... with file";
- a source that exists in the context only as an excluded directory with an exception that
  matches nothing inside was never sent (fsutil filter.go lazy parents): "not found".

The cases that succeed (copying through links, replacing files by links, archives, lazy
.dockerignore directories) are in the buildah differential test (cases dest_symlinks,
archive_symlinks, dockerignore_exceptions), checked with umoci on both images.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration


def _context(tmp_path: Path, dockerfile: str, files: dict[str, str], links: dict[str, str]) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(text)
    for name, target in links.items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, ctx / name)
    return ctx


def _dockyard_error(ctx: Path, tmp_path: Path) -> str:
    done = dockyard("build", "--platform", "linux/amd64", "-o", f"type=local,dest={tmp_path / 'out'}", str(ctx),
                    check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    return done.stderr


def _buildah_ok(ctx: Path) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}
    tag = f"localhost/dockyard-dest-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(["buildah", "build", "--quiet", "--layers=false", "-t", tag, str(ctx)],
                          capture_output=True, text=True, env=env, check=False, timeout=300)
    subprocess.run(["buildah", "rmi", "-f", tag], capture_output=True, env=env, check=False)
    return done.returncode == 0


def test_a_directory_onto_an_existing_symlink_fails_as_in_buildkit(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM scratch\nCOPY base/ /\nCOPY tree/ /\n",
                   {"base/elsewhere/old.txt": "old", "tree/d/sub/new.txt": "new"}, {"base/d/sub": "/elsewhere"})
    err = _dockyard_error(ctx, tmp_path)
    assert "Dockerfile:3" in err or "COPY tree/ /" in err
    assert "cannot copy to non-directory: /d/sub" in err, err
    # buildah 1.28 follows the link and merges tree/d/sub into /elsewhere instead
    assert _buildah_ok(ctx)


def test_a_file_onto_an_existing_directory_fails_as_in_buildkit(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM scratch\nCOPY base/ /\nCOPY files/ /\n",
                   {"base/dirx/inside.txt": "i", "files/dirx": "a file now"}, {})
    err = _dockyard_error(ctx, tmp_path)
    assert "cannot replace to directory /dirx with file" in err, err
    # buildah 1.28 removes the directory (and what was in it) and writes the file there
    assert _buildah_ok(ctx)


def test_a_source_sent_only_as_an_empty_excluded_directory_is_not_found(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "FROM scratch\nCOPY logs /l\n", {"logs/keep/notes.md": "md",
                   ".dockerignore": "logs\n!logs/keep/*.txt\n"}, {})
    err = _dockyard_error(ctx, tmp_path)
    assert "Dockerfile:2" in err and "'logs' not found in build context" in err, err
    assert not _buildah_ok(ctx)  # buildah 1.28 agrees: nothing under logs/ was sent

"""Differential: the same COPY instructions through buildah and through copy_into, compared.

Where BuildKit and buildah disagree dockyard follows BuildKit; each such difference is
named in the test (the rules are written down in :mod:`dockyard.engine.copy`).
"""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from dockyard.engine.copy import CopySpec, copy_into

pytestmark = pytest.mark.integration

# (Dockerfile line, the same thing as a CopySpec)
_CASES: list[tuple[str, CopySpec]] = [
    ("COPY a.txt /f1", CopySpec(paths=("a.txt",), dest="/f1")),
    ("COPY a.txt /d1/", CopySpec(paths=("a.txt",), dest="/d1/")),
    ("COPY dir /d2", CopySpec(paths=("dir",), dest="/d2")),
    ("COPY dir/ /d3/", CopySpec(paths=("dir/",), dest="/d3/")),
    ("COPY *.go /gofiles/", CopySpec(paths=("*.go",), dest="/gofiles/")),
    ("COPY link /d4/", CopySpec(paths=("link",), dest="/d4/")),
    ("COPY --chmod=640 dir /d5/", CopySpec(paths=("dir",), dest="/d5/", chmod="640")),
    ("COPY --chown=12:34 dir a.txt /d6/", CopySpec(paths=("dir", "a.txt"), dest="/d6/", chown=(12, 34))),
    ("COPY dir/sub/deep.txt /x/y/z/", CopySpec(paths=("dir/sub/deep.txt",), dest="/x/y/z/")),
]


def _context(root: Path) -> None:
    (root / "dir/sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b.go").write_text("b")
    (root / "c.go").write_text("c")
    (root / "dir/run.sh").write_text("#!/bin/sh\n")
    (root / "dir/sub/deep.txt").write_text("deep")
    os.symlink("run.sh", root / "dir/run-link")
    os.symlink("a.txt", root / "link")
    os.chmod(root / "dir/run.sh", 0o755)
    os.chmod(root / "dir/sub", 0o700)
    os.chmod(root / "a.txt", 0o600)
    for name in ("a.txt", "b.go", "c.go", "dir/run.sh", "dir/sub/deep.txt"):
        os.utime(root / name, (1_500_000_000, 1_500_000_000))  # whole seconds, long ago: "kept" is visible


def _describe(root: Path) -> dict[str, tuple[str, int, int, int, str]]:
    out: dict[str, tuple[str, int, int, int, str]] = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                kind, body = "link", os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                kind, body = "dir", ""
            else:
                kind, body = "file", f"{Path(path).read_text()} mtime={st.st_mtime_ns // 10**9}"  # layers keep seconds
            out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, body)
    return out


def _buildah(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_CONFIG"}  # the autouse fixture's empty one
    return subprocess.run(["buildah", *args], check=False, capture_output=True, text=True, env=env)


def test_copy_matches_buildah(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    _context(ctx)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\n" + "".join(line + "\n" for line, _ in _CASES))
    tag = f"localhost/dockyard-copy-diff-{uuid.uuid4().hex[:8]}"
    built = _buildah("build", "--quiet", "--layers=false", "-t", tag, "-f", str(dockerfile), str(ctx))
    assert built.returncode == 0, built.stderr
    try:
        made = _buildah("from", "--pull=never", tag)
        assert made.returncode == 0, made.stderr
        container = made.stdout.strip()
        try:
            mounted = _buildah("mount", container)
            assert mounted.returncode == 0, mounted.stderr
            theirs = _describe(Path(mounted.stdout.strip()))
        finally:
            _buildah("rm", container)
    finally:
        _buildah("rmi", "-f", tag)

    dest = tmp_path / "dest"
    dest.mkdir()
    for _, spec in _CASES:
        copy_into(source_root=ctx, dest_root=dest, spec=spec)
    ours = _describe(dest)
    assert sorted(ours) == sorted(theirs)
    differences = {path: (ours[path], theirs[path]) for path in ours if ours[path] != theirs[path]}
    # The one known difference: a directory the copy has to create, with an octal --chmod.
    # BuildKit (fsutil, since 2025) gives it the --chmod mode, as dockyard does; buildah 0755.
    assert differences == {"d5": (("dir", 0o640, 0, 0, ""), ("dir", 0o755, 0, 0, ""))}

"""Independent views of exported trees and images (os.walk of a directory, tools' output)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path


def run(*argv: str) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def snapshot(root: Path) -> dict[str, tuple[str, int, int, int, str]]:
    """path -> (type, mode, uid, gid, content or link target) for everything under ``root``."""
    out: dict[str, tuple[str, int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                kind, body = "link", os.readlink(path)
            elif stat.S_ISDIR(st.st_mode):
                kind, body = "dir", ""
            elif stat.S_ISREG(st.st_mode):
                kind, body = "file", Path(path).read_bytes().hex() if st.st_size < 4096 else str(st.st_size)
            else:
                kind, body = "other", str(st.st_rdev)
            out[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, body)
    return out

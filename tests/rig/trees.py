"""Describing directory trees for comparisons in engine tests (types, modes, owners, contents, xattrs)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

Entry = tuple[str, int, int, int, str, tuple[tuple[str, bytes], ...]]


def _xattrs(path: str) -> tuple[tuple[str, bytes], ...]:
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        return ()
    return tuple((n, os.getxattr(path, n, follow_symlinks=False)) for n in names
                 if not n.startswith("trusted.overlay."))


def describe(root: str | Path, *, mtimes: bool = False) -> dict[str, Entry | tuple[Entry, int]]:
    """path -> (kind, mode, uid, gid, content-or-target, xattrs) for every entry under ``root``."""
    found: dict[str, Entry | tuple[Entry, int]] = {}
    base = str(root)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, base)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                kind, detail = "file", hashlib.sha256(Path(path).read_bytes()).hexdigest()
            elif stat.S_ISDIR(st.st_mode):
                kind, detail = "dir", ""
            elif stat.S_ISLNK(st.st_mode):
                kind, detail = "symlink", os.readlink(path)
            elif stat.S_ISCHR(st.st_mode):
                kind, detail = "char", f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            elif stat.S_ISFIFO(st.st_mode):
                kind, detail = "fifo", ""
            else:
                kind, detail = "other", ""
            entry: Entry = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, detail, _xattrs(path))
            found[rel] = (entry, int(st.st_mtime)) if mtimes and kind != "symlink" else entry
    return found

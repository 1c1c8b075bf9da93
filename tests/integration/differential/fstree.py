"""A comparable description of an unpacked root filesystem, and the differences between two.

mtimes are left out on purpose: RUN steps stamp files with the wall clock of the build, the
two builders run seconds apart, buildah keeps context mtimes where BuildKit may normalise
them, and ``umoci unpack`` itself touches parent directories as it extracts. Directory sizes
are left out too: they are a property of the file system the tree is unpacked on, not of
the image. Everything else that a layer tar carries is kept: type, permission bits
(setuid/setgid/sticky included), owner, size and sha256 of file contents, symlink targets,
device numbers, extended attributes and which paths share one inode (hard links).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Node:
    """One path of a tree; ``hardlink`` is the first path (sorted) of its inode's group, or ""."""

    kind: str
    mode: str
    uid: int
    gid: int
    size: int = 0
    sha256: str = ""
    target: str = ""
    rdev: str = ""
    hardlink: str = ""
    xattrs: tuple[tuple[str, str], ...] = ()


_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
          (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block"), (stat.S_ISSOCK, "socket"))


def _kind(mode: int) -> str:
    return next(name for test, name in _KINDS if test(mode))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _xattrs(path: str) -> tuple[tuple[str, str], ...]:
    names = sorted(os.listxattr(path, follow_symlinks=False))
    return tuple((n, os.getxattr(path, n, follow_symlinks=False).hex()) for n in names)


def walk(root: Path) -> dict[str, Node]:
    """``/path`` -> :class:`Node` for ``root`` itself (as ``/``) and everything below it."""
    stats: dict[str, os.stat_result] = {"/": os.lstat(root)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            stats["/" + os.path.relpath(full, root)] = os.lstat(full)
    inodes: dict[tuple[int, int], list[str]] = defaultdict(list)
    for path, st in stats.items():
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            inodes[(st.st_dev, st.st_ino)].append(path)
    leader = {path: min(group) for group in inodes.values() if len(group) > 1 for path in group}
    tree: dict[str, Node] = {}
    for path, st in stats.items():
        full = str(root) + path if path != "/" else str(root)
        kind = _kind(st.st_mode)
        tree[path] = Node(
            kind=kind,
            mode=oct(stat.S_IMODE(st.st_mode)),
            uid=st.st_uid,
            gid=st.st_gid,
            size=st.st_size if kind == "file" else 0,
            sha256=_sha256(full) if kind == "file" else "",
            target=os.readlink(full) if kind == "symlink" else "",
            rdev=f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" if kind in ("char", "block") else "",
            hardlink=leader.get(path, ""),
            xattrs=_xattrs(full),
        )
    return tree


def differences(ours: dict[str, Node], theirs: dict[str, Node]) -> dict[str, str]:
    """path -> a one-line description of how the two trees disagree there (only paths that do)."""
    out: dict[str, str] = {}
    for path in sorted(ours.keys() | theirs.keys()):
        a, b = ours.get(path), theirs.get(path)
        if a is None:
            assert b is not None
            out[path] = f"only in buildah: {b}"
        elif b is None:
            out[path] = f"only in dockyard: {a}"
        elif a != b:
            parts = [f"{f.name} {getattr(a, f.name)!r} != {getattr(b, f.name)!r}"
                     for f in fields(Node) if getattr(a, f.name) != getattr(b, f.name)]
            out[path] = "dockyard vs buildah: " + "; ".join(parts)
    return out

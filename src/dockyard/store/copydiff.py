"""The snapshotter's fallback where overlayfs is unavailable: copy the stack, diff at commit.

``materialize`` copies each diff directory of a stack into one tree, honouring the
overlay-format whiteouts, and records every path's inode and ctime. After the step ran
in that tree, ``diff`` finds what changed without reading any file: a changed file always
gets a new ctime (the kernel sets it on every write, chmod, chown or xattr change, and
user space cannot set it back), a replaced directory gets a new inode, and a path that
vanished was deleted. Changed paths are *moved* into the upperdir (the tree is thrown
away afterwards), so the result has the shape overlayfs would have written, with one
difference: a directory deleted and made again may get its old inode number back, and
is then diffed as kept, with a whiteout per vanished child instead of an opaque marker.
The layer means the same either way.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.errors import StoreError
from dockyard.oci.rootpath import remove_path
from dockyard.oci.tarfs import clear_opaque, is_opaque, mark_opaque


@dataclass(frozen=True)
class Baseline:
    """Each path of the materialised tree (relative, bytes) -> (inode, ctime_ns, is_dir)."""

    entries: dict[bytes, tuple[int, int, bool]]


def _scan(top: bytes) -> dict[bytes, tuple[int, int, bool]]:
    found: dict[bytes, tuple[int, int, bool]] = {}
    stack = [b""]
    while stack:
        rel = stack.pop()
        with os.scandir(top + b"/" + rel if rel else top) as scan:
            for item in scan:
                path = rel + b"/" + item.name if rel else item.name
                st = item.stat(follow_symlinks=False)
                is_dir = stat.S_ISDIR(st.st_mode)
                found[path] = (st.st_ino, st.st_ctime_ns, is_dir)
                if is_dir:
                    stack.append(path)
    return found


def materialize(layers: Sequence[str | os.PathLike[str]],
                target: str | os.PathLike[str]) -> Baseline:
    """Copy ``layers`` (bottom first, upperdir format) into the empty ``target``."""
    top = os.fsencode(os.fspath(target))
    for layer in layers:
        src = os.fsencode(os.fspath(layer))
        whiteouts: list[bytes] = []
        for rel, (_, _, is_dir) in _scan(src).items():
            path = src + b"/" + rel
            if is_dir:
                if is_opaque(path):
                    remove_path(top + b"/" + rel)
                    whiteouts.append(rel + b"/")
                continue
            st = os.lstat(path)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                remove_path(top + b"/" + rel)
                whiteouts.append(rel)
        proc = subprocess.run(["cp", "-a", "--", os.fsdecode(src) + "/.", os.fsdecode(top) + "/"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StoreError(f"cannot copy snapshot layer {os.fsdecode(src)}: {proc.stderr.strip()}")
        for rel in whiteouts:
            if rel.endswith(b"/"):
                clear_opaque(top + b"/" + rel)
            else:
                os.unlink(top + b"/" + rel)
    return Baseline(_scan(top))


def _copy_dir_metadata(src: bytes, dest: bytes) -> None:
    st = os.lstat(src)
    os.chown(dest, st.st_uid, st.st_gid)
    os.chmod(dest, stat.S_IMODE(st.st_mode))
    for key in os.listxattr(src, follow_symlinks=False):
        os.setxattr(dest, key, os.getxattr(src, key, follow_symlinks=False), follow_symlinks=False)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))


def diff(baseline: Baseline, merged: str | os.PathLike[str], upper: str | os.PathLike[str]) -> None:  # noqa: C901 - one sorted pass over the baseline and now: new, replaced, changed and deleted entries
    """Move what changed in ``merged`` since ``baseline`` into the empty ``upper``."""
    top = os.fsencode(os.fspath(merged))
    out = os.fsencode(os.fspath(upper))
    now = _scan(top)
    before = baseline.entries
    moves: list[bytes] = []
    opaque: list[bytes] = []
    touched_dirs: list[bytes] = []
    covered: set[bytes] = set()  # paths whose whole subtree moves with an ancestor

    for rel in sorted(now):
        parent = rel.rpartition(b"/")[0]
        if parent in covered:
            covered.add(rel)
            continue
        ino, ctime, is_dir = now[rel]
        old = before.get(rel)
        if old is None or old[0] != ino or old[2] != is_dir:
            moves.append(rel)
            covered.add(rel)
            if is_dir and old is not None and old[2]:
                opaque.append(rel)
        elif old[1] != ctime and is_dir:
            touched_dirs.append(rel)
        elif old[1] != ctime:
            moves.append(rel)
    deleted = [rel for rel in sorted(before) if rel not in now
               and rel.rpartition(b"/")[0] not in covered
               and (not rel.rpartition(b"/")[0] or rel.rpartition(b"/")[0] in now)]
    # a deleted directory's children need no whiteouts of their own
    deleted_set = set(deleted)
    deleted = [rel for rel in deleted if rel.rpartition(b"/")[0] not in deleted_set]

    def parents(rel: bytes) -> None:
        parts = rel.split(b"/")[:-1]
        for i in range(1, len(parts) + 1):
            sub = b"/".join(parts[:i])
            dest = out + b"/" + sub
            if not os.path.lexists(dest):
                os.mkdir(dest)
                _copy_dir_metadata(top + b"/" + sub, dest)

    for rel in touched_dirs:
        parents(rel + b"/x")
    for rel in moves:
        parents(rel)
        os.rename(top + b"/" + rel, out + b"/" + rel)
    for rel in opaque:
        mark_opaque(out + b"/" + rel)
    for rel in deleted:
        parents(rel)
        os.mknod(out + b"/" + rel, stat.S_IFCHR, os.makedev(0, 0))

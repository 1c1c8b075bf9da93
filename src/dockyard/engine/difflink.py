"""One platform's COPY diff made from another's: hard links instead of a second copy.

The platforms of a build copy the same context files into the same new tree; when their copies
are equal (the worker checks: the same tar entries, and every copy reads the files its key hashed
or fails, :mod:`dockyard.engine.contextcheck`), the second platform's diff is the first one's.
Creating each file again cost most of a COPY of small files (0.1-0.6 ms a file here: inode
allocation, more under I/O load) and wrote the bytes again; a hard link is a directory entry. A
committed diff is never written again (overlay lowers are read-only; a step that changes a file
copies it up into its own diff), so two snapshots may share its inodes. Directories cannot be
linked: they are made anew with the first diff's metadata.
"""

from __future__ import annotations

import os
import stat

from dockyard import cancel
from dockyard.engine.copier import copy_xattrs_path
from dockyard.oci.tarfs import is_opaque


class NotLinkable(Exception):
    """The diff holds something whose meaning depends on the layers below (a whiteout, an opaque
    directory): the second platform copies for itself."""


def link_diff(source: bytes, target: bytes) -> None:
    """Fill the empty upperdir ``target`` with the tree of the committed diff ``source``.

    Files, symlinks and special files become hard links; directories take the source's owner,
    mode, extended attributes (overlayfs's own excepted: its copy-up bookkeeping names the first
    platform's lower inodes) and times, set after their entries so that they stick. Raises
    :class:`NotLinkable` (before anything is written) or OSError; the caller empties ``target``."""
    _check(source)
    _link(source, target)


def _check(directory: bytes) -> None:
    """Files and symlinks are known from the directory listing; only special files are stat'ed."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if is_opaque(entry.path):
                    raise NotLinkable(entry.path)
                _check(entry.path)
            elif not (entry.is_file(follow_symlinks=False) or entry.is_symlink()):
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                    raise NotLinkable(entry.path)


def _link(source: bytes, target: bytes) -> None:
    cancel.check()
    with os.scandir(source) as entries:
        for entry in entries:
            path = target + b"/" + entry.name
            if not entry.is_dir(follow_symlinks=False):
                os.link(entry.path, path, follow_symlinks=False)
                continue
            st = entry.stat(follow_symlinks=False)
            os.mkdir(path, 0o700)
            _link(entry.path, path)
            os.chown(path, st.st_uid, st.st_gid)
            os.chmod(path, stat.S_IMODE(st.st_mode))
            copy_xattrs_path(entry.path, path)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

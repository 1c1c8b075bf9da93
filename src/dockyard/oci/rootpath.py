"""Resolving paths inside a root directory as if it were ``/`` (a chroot without chroot).

Layers, image rootfs files (/etc/passwd) and working directories name paths that are
meant for the container's view. Symlinks inside that tree may be absolute or climb with
``..``; followed naively on the host they would lead out of the tree (a classic layer
escape). Everything here resolves symlinks with the root as the ceiling, so the result is
always a host path under ``root``.
"""

from __future__ import annotations

import os
import shutil
import stat

from dockyard.errors import BuildError

_MAX_HOPS = 255


class UnsafePathError(BuildError):
    """A path names something outside the root, or loops through symlinks."""


def split_relative(name: str | bytes) -> list[bytes]:
    """The components of a container path, without empty or ``.`` parts (``..`` kept)."""
    raw = os.fsencode(name)
    return [part for part in raw.split(b"/") if part and part != b"."]


def resolve(root: str | bytes | os.PathLike[str], name: str | bytes, *, follow_last: bool = True,
            create_dirs: bool = False, refuse_relative_escape: bool = False) -> bytes:
    """The host path of ``name`` under ``root``, following symlinks but never leaving ``root``.

    ``follow_last`` follows a symlink in the final component too; ``create_dirs`` makes
    every missing directory on the way, the last component included (mode 0755).
    ``..`` above ``root`` stays at ``root``, except with ``refuse_relative_escape``: then a
    relative climb above ``root`` (before any absolute symlink was followed) is an
    :class:`UnsafePathError`, as go-archive's ``os.Root`` untar refuses it.
    """
    base = os.fsencode(os.fspath(root)).rstrip(b"/") or b"/"
    todo = split_relative(name)
    todo.reverse()
    stack: list[bytes] = []
    hops = 0
    absolute = False
    while todo:
        part = todo.pop()
        if part == b"..":
            if stack:
                stack.pop()
            elif refuse_relative_escape and not absolute:
                raise UnsafePathError(f"{os.fsdecode(name)!r}: path escapes from parent")
            continue
        current = base + b"/" + b"/".join([*stack, part])
        last = not todo
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            if create_dirs:
                os.mkdir(current, 0o755)
            stack.append(part)
            continue
        except NotADirectoryError as exc:
            raise BuildError(f"cannot resolve {os.fsdecode(name)!r}: a component is not a directory") from exc
        if stat.S_ISLNK(st.st_mode) and (follow_last or not last):
            hops += 1
            if hops > _MAX_HOPS:
                raise UnsafePathError(f"too many levels of symbolic links resolving {os.fsdecode(name)!r}")
            target = os.readlink(current)
            if target.startswith(b"/"):
                stack = []
                absolute = True
            parts = split_relative(target)
            parts.reverse()
            todo.extend(parts)
            continue
        stack.append(part)
    if not stack:
        return base
    return base + b"/" + b"/".join(stack)


def check_member_name(name: str) -> list[bytes]:
    """The components of a layer entry name; absolute names and ``..`` are refused.

    Layers made by well-behaved tools never contain them, so refusing (rather than
    silently rewriting) surfaces a corrupted or hostile layer.
    """
    if name.startswith("/"):
        raise UnsafePathError(f"layer entry {name!r} is an absolute path",
                              hint="the layer is malformed or hostile; entries must be relative")
    parts = split_relative(name)
    if b".." in parts:
        raise UnsafePathError(f"layer entry {name!r} climbs out with '..'",
                              hint="the layer is malformed or hostile; entries must stay inside the root")
    return parts


def remove_path(path: bytes | str) -> None:
    """Remove whatever is at ``path`` (a whole tree for a directory; nothing when absent); links
    are removed, never followed."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)

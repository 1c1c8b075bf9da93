"""Reading chosen files out of an image's layers, as the merged filesystem shows them.

A cataloger needs a few files (dpkg's status, a package's METADATA) or a few bytes of many
files (an ELF binary's Go build info), never the unpacked tree. So the layers are streamed
once each, bottom to top, and each wanted regular file is handed to its reader while the tar
is read; later layers replace earlier files, and OCI whiteouts (``.wh.NAME``,
``.wh..wh..opq``) remove them, so the result is what a container would see.
"""

from __future__ import annotations

import posixpath
import stat
import tarfile
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import IO, TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from dockyard.selector import SourceTree

T = TypeVar("T")

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

# Given a file's path (relative, no leading slash) and its tar header, a reader that keeps what
# the caller needs from the file's bytes, or None when the file is not wanted.
Reader = Callable[[IO[bytes]], T | None]
Chooser = Callable[[str, tarfile.TarInfo], Reader[T] | None]
LayerOpener = Callable[[], AbstractContextManager[IO[bytes]]]


def normalize(name: str) -> str:
    """A tar member name as a clean relative path (``./usr/bin/`` -> ``usr/bin``)."""
    path = posixpath.normpath("/" + name).lstrip("/")
    return "" if path == "." else path


class _Merged(Generic[T]):
    """Results keyed by path, with the layer each came from, so whiteouts remove the right ones."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[int, T]] = {}

    def remove_tree(self, path: str, *, below_layer: int | None = None, keep_top: bool = False) -> None:
        prefix = path + "/" if path else ""
        for key in [k for k in self.found if k.startswith(prefix) or (not keep_top and k == path)]:
            if below_layer is None or self.found[key][0] < below_layer:
                del self.found[key]


def read_files(layers: Iterable[LayerOpener], choose: Chooser[T]) -> dict[str, T]:
    """Stream every layer (bottom first) and return ``{path: reader result}`` for the merged view."""
    merged: _Merged[T] = _Merged()
    for number, opener in enumerate(layers):
        with opener() as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for info in tar:
                path = normalize(info.name)
                parent, base = posixpath.split(path)
                if base == OPAQUE:
                    merged.remove_tree(parent, below_layer=number, keep_top=True)
                    continue
                if base.startswith(WHITEOUT):
                    merged.remove_tree(posixpath.join(parent, base[len(WHITEOUT):]))
                    continue
                if not info.isdir():
                    merged.remove_tree(path)
                if not info.isreg():
                    continue
                reader = choose(path, info)
                if reader is None:
                    continue
                member = tar.extractfile(info)
                if member is None:
                    continue
                with member:
                    value = reader(member)
                if value is not None:
                    merged.found[path] = (number, value)
    return {path: value for path, (_, value) in sorted(merged.found.items())}


def read_tree(tree: SourceTree, choose: Chooser[T]) -> dict[str, T]:
    """The same for a directory as the build sees it (.dockerignore applied): ``{path: reader result}``.

    Only the chosen files are opened; links are not followed (as in a layer, where they are not files).
    """
    found: dict[str, T] = {}
    todo = [tree.node(".")]
    while todo:
        parent = todo.pop()
        if parent is None:
            continue
        for node in tree.children(parent):
            if node.is_dir:
                todo.append(node)
                continue
            if not stat.S_ISREG(node.st.st_mode):
                continue
            info = tarfile.TarInfo(node.rel)
            info.size, info.mode = node.st.st_size, stat.S_IMODE(node.st.st_mode)
            reader = choose(node.rel, info)
            if reader is None:
                continue
            with open(node.host, "rb") as stream:
                value = reader(stream)
            if value is not None:
                found[node.rel] = value
    return dict(sorted(found.items()))


def read_all(limit: int) -> Reader[bytes]:
    """A reader keeping a whole (small) file; files over ``limit`` bytes are skipped."""

    def reader(stream: IO[bytes]) -> bytes | None:
        data = stream.read(limit + 1)
        return None if len(data) > limit else data

    return reader

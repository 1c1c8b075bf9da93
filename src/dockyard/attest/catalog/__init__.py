"""Catalogers: which packages an image holds, read from the package managers' own records.

Each cataloger module has ``choose(path, tarinfo)`` (the files it needs, and how much of each)
and ``packages(files, os_release)``. :func:`catalog` streams the layers once for all of them.
RPM is read from the sqlite rpmdb only (see :mod:`.rpm`).
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from dockyard.attest.catalog import apk, dpkg, golang, npm, osrelease, python, rpm
from dockyard.attest.catalog.osrelease import OsRelease
from dockyard.attest.imagefs import Chooser, LayerOpener, Reader, read_all, read_files, read_tree
from dockyard.attest.packages import Package

if TYPE_CHECKING:
    from dockyard.selector import SourceTree

CATALOGERS: tuple[ModuleType, ...] = (dpkg, apk, rpm, python, npm, golang)
_OS_RELEASE = -1


@dataclass(frozen=True)
class Catalog:
    """What an image holds: its distribution and its packages (sorted, one per purl and location)."""

    os_release: OsRelease
    packages: tuple[Package, ...]


def catalog(layers: Iterable[LayerOpener]) -> Catalog:
    """Read the packages of the image whose layers (bottom first) ``layers`` opens."""
    return catalog_files(lambda choose: read_files(layers, choose))


def catalog_tree(tree: SourceTree) -> Catalog:
    """Read the packages of a directory as the build sees it (the build context, BUILDKIT_SBOM_SCAN_CONTEXT)."""
    return catalog_files(lambda choose: read_tree(tree, choose))


def catalog_files(read: Callable[[Chooser[bytes]], dict[str, bytes]]) -> Catalog:
    """Read the packages from the files ``read`` hands over (a merged image, or a directory)."""
    owner: dict[str, int] = {}

    def choose(path: str, info: tarfile.TarInfo) -> Reader[bytes] | None:
        if path in osrelease.PATHS:
            owner[path] = _OS_RELEASE
            return read_all(1 << 16)
        for number, cataloger in enumerate(CATALOGERS):
            reader: Reader[bytes] | None = cataloger.choose(path, info)
            if reader is not None:
                owner[path] = number
                return reader
        return None

    files = read(choose)
    release = osrelease.find({p: d for p, d in files.items() if owner.get(p) == _OS_RELEASE})
    found: dict[tuple[str, str], Package] = {}
    for number, cataloger in enumerate(CATALOGERS):
        mine = {p: d for p, d in files.items() if owner.get(p) == number}
        for package in cataloger.packages(mine, release):
            found.setdefault((package.purl, package.location), package)
    return Catalog(os_release=release, packages=tuple(sorted(found.values())))

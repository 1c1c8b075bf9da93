"""A COPY from the build context archived straight from the context into its layer.

Copying 50,000 small files through an overlay mount, then reading them back out of the
upperdir to make the layer, writes and reads every file twice more than needed (profiled:
creating files on overlayfs was most of a big COPY's time). When the copy can only *add* a
new tree, its upperdir is known before anything is written: the destination's ancestors,
the destination directory, and the selected entries with the owner, mode and times the copy
would give them. So :func:`layer_entries` lists those tar entries from the context itself,
in the order and with the metadata :func:`dockyard.oci.tarfs.walk` would read from that
upperdir; the layer's bytes are the same as the copy's (a test builds both ways and compares).
The step's snapshot is then made only if a later step needs the filesystem, by unpacking
that layer (the worker's lazy results).

What the upperdir holds, as overlayfs makes it (measured on kernel 6.x): an ancestor of the
destination that exists below is copied up with its own metadata and times, except the
directory a new entry is created in, whose mtime becomes the time of the copy; directories
the copy creates get the ``--chmod`` octal mode (else 0755) and the ``--chown`` owner (else
the builder's); the destination directory takes the source directory's times, its entries
their own (:mod:`dockyard.engine.copier`).

Everything else takes the general path (None): more than one source, a source that is not
a directory, ADD, a destination that exists and is not an empty directory (merging and
replacing are the copier's rules), extended attributes anywhere (a filesystem may refuse to
copy one), and special files.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.engine.chmod import parse_chmod
from dockyard.engine.copy import CopySpec, destination
from dockyard.oci.tarfs import DIR, LNK, REG, SYM, TarEntry, is_overlay_xattr
from dockyard.selector import PatternMatcher, Selected, SelectionError, SourceTree, select

if TYPE_CHECKING:
    from dockyard.graph.contenthash import ContextHasher


def layer_entries(*, source_root: Path, dest_root: Path, lowers: Sequence[Path], spec: CopySpec,
                  source_date_epoch: int | None = None, listing: ContextHasher | None = None) -> list[TarEntry] | None:
    """The layer of copying ``spec`` from the context ``source_root`` onto ``dest_root`` (the
    mounted stack of the diff directories ``lowers``), as tar entries in layer order; None when
    the copy is not a plain new tree (see the module docstring). Errors are left to the copy.
    ``listing`` is the hasher that keyed the build (same root): the entries are then the very
    ones the step's key hashed, neither selected nor checked for attributes a second time."""
    if not spec.from_context or spec.unpack:
        return None
    try:
        selected, has_xattrs = _selection(source_root, spec, listing)
        return _entries(selected, has_xattrs, dest_root=dest_root, lowers=lowers, spec=spec,
                        source_date_epoch=source_date_epoch)
    except (SelectionError, OSError):
        return None  # the copy meets the same problem and reports it with the container's paths


def _selection(source_root: Path, spec: CopySpec, listing: ContextHasher | None
               ) -> tuple[Sequence[Selected], Callable[[bytes], bool] | None]:
    """What the copy reads, and the test for attributes a layer would keep on an entry (None:
    the key saw none on any entry)."""
    keyed = listing.keyed(spec.selection(), ignore=spec.context_excludes) if listing is not None else None
    if keyed is not None:
        flagged = keyed.with_xattrs
        return keyed.selected, (lambda host: host in flagged and _kept_xattrs(host)) if flagged else None
    tree = listing.tree(spec.context_excludes) if listing is not None else SourceTree(
        source_root, ignore=PatternMatcher(spec.context_excludes))
    return select(tree, spec.selection()), _kept_xattrs


def _entries(selected: Sequence[Selected], has_xattrs: Callable[[bytes], bool] | None, *, dest_root: Path,
             lowers: Sequence[Path], spec: CopySpec, source_date_epoch: int | None) -> list[TarEntry] | None:
    droot, dest_host, _ = destination(dest_root, spec)
    if len(selected) != 1 or not selected[0].top.node.is_dir:
        return None
    mode = parse_chmod(spec.chmod) if spec.chmod else None
    dest = _Destination(droot=droot, lowers=lowers, spec=spec, epoch=source_date_epoch,
                        dir_mode=mode.octal if mode is not None and mode.octal is not None else 0o755)
    out = dest.entries(dest_host, top_mtime=os.lstat(selected[0].top.node.host).st_mtime)
    if out is None:
        return None
    prefix = out[-1].name if out else b""
    uid, gid = spec.chown if spec.chown is not None else (0, 0)  # context files belong to root in the image
    inodes: dict[bytes, tuple[int, int]] = {}
    top_host = selected[0].top.node.host
    cut = len(top_host) if top_host.endswith(b"/") else len(top_host) + 1  # host[cut:] is the entry's rel
    epoch = source_date_epoch
    for entry in selected[0].entries:
        node = entry.node
        st, host = node.st, node.host
        if has_xattrs is not None and has_xattrs(host):
            return None
        name = prefix + host[cut:]
        perms = mode.apply(st.st_mode) if mode is not None else stat.S_IMODE(st.st_mode)
        mtime = int(st.st_mtime) if epoch is None else min(int(st.st_mtime), epoch)
        if stat.S_ISDIR(st.st_mode):
            out.append(TarEntry(name=name + b"/", kind=DIR, mode=perms, uid=uid, gid=gid, mtime=mtime))
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                inodes[name] = (st.st_dev, st.st_ino)
            out.append(TarEntry(name=name, kind=REG, mode=perms, uid=uid, gid=gid, mtime=mtime, size=st.st_size,
                                source=host, identity=(st.st_ino, st.st_ctime_ns)))
        elif stat.S_ISLNK(st.st_mode):
            out.append(TarEntry(name=name, kind=SYM, mode=0o777, uid=uid, gid=gid, mtime=mtime,
                                linkname=os.readlink(host)))
        else:
            return None
    # already in tarfs.walk's order (depth first, names sorted bytewise in each directory): the
    # selection walks so, a lazy parent comes just before its first entry, and the destination's
    # directories are the prefix of every name
    return _link_hardlinks(out, inodes) if inodes else out


@dataclass(frozen=True, kw_only=True)
class _Destination:
    """The destination directory's side of the layer: it and its ancestors (root excluded)."""

    droot: bytes
    lowers: Sequence[Path]
    spec: CopySpec
    epoch: int | None
    dir_mode: int

    def clamp(self, seconds: float) -> int:
        value = int(seconds)
        return min(value, self.epoch) if self.epoch is not None else value

    def entries(self, dest_host: bytes, *, top_mtime: float) -> list[TarEntry] | None:
        """The upperdir's directories above the copied entries, or None when the destination
        exists and is not an empty directory, an ancestor is not a plain directory, or a lower
        layer holds something (a whiteout) where a directory is to be made."""
        rel = dest_host[len(self.droot):].strip(b"/")
        parts = rel.split(b"/") if rel else []
        names = [b"/".join(parts[:i + 1]) for i in range(len(parts))]
        found: list[TarEntry] = []
        for name in names:
            try:
                st = os.lstat(self.droot + b"/" + name)
            except FileNotFoundError:
                break
            if not stat.S_ISDIR(st.st_mode) or _kept_xattrs(self.droot + b"/" + name):
                return None
            found.append(TarEntry(name=name + b"/", kind=DIR, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid,
                                  gid=st.st_gid, mtime=self.clamp(st.st_mtime)))
        made = names[len(found):]
        if made:
            if any(os.path.lexists(os.path.join(os.fsencode(lower), made[0])) for lower in self.lowers):
                return None  # overlayfs would make it over a whiteout
            with_time = self.clamp(time.time())
            if found:  # the existing directory the first new one is made in: modified now
                found[-1] = _with_mtime(found[-1], with_time)
            uid, gid = self.spec.chown if self.spec.chown is not None else (os.geteuid(), os.getegid())
            found += [TarEntry(name=name + b"/", kind=DIR, mode=self.dir_mode, uid=uid, gid=gid, mtime=with_time)
                      for name in made]
        elif _listed(dest_host):
            return None  # merging into existing entries: the copier's rules
        if found:  # the destination fills, then takes the source directory's times
            found[-1] = _with_mtime(found[-1], self.clamp(top_mtime))
        return found


def _with_mtime(entry: TarEntry, mtime: int) -> TarEntry:
    return TarEntry(name=entry.name, kind=entry.kind, mode=entry.mode, uid=entry.uid, gid=entry.gid, mtime=mtime)


def _listed(directory: bytes) -> bool:
    with os.scandir(directory) as listing:
        return any(True for _ in listing)


def _link_hardlinks(entries: list[TarEntry], inodes: dict[bytes, tuple[int, int]]) -> list[TarEntry]:
    """Regular files sharing an inode: the first in layer order keeps the data, the others
    become links to it (the copy links them; the tar walk then does this)."""
    first: dict[tuple[int, int], bytes] = {}
    out = []
    for entry in entries:
        inode = inodes.get(entry.name)
        target = entry.name if inode is None else first.setdefault(inode, entry.name)
        out.append(entry if target == entry.name else TarEntry(
            name=entry.name, kind=LNK, mode=entry.mode, uid=entry.uid, gid=entry.gid, mtime=entry.mtime,
            linkname=target))
    return out


def _kept_xattrs(path: bytes) -> bool:
    """Whether ``path`` has extended attributes a layer would keep (overlay's own are not)."""
    try:
        return any(not is_overlay_xattr(name) and not name.startswith("security.selinux")
                   for name in os.listxattr(path, follow_symlinks=False))
    except OSError:
        return True

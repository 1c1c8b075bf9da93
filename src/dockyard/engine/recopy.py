"""A COPY made again after some of its files changed: the unchanged ones are hard links to the
files of its last copy.

A rebuild after one edited file runs that file's COPY again, which copied every selected file
again: creating a file costs 0.1-0.6 ms on this machine's disk (inode allocation, more under I/O
load) and copying 50 MB ~20 ms; 70-150 ms of the bench's two-platform rebuild that changes one of
500 files (issue 17, edit1). The last copy of the same COPY (the same context directory and spec,
over the same snapshot) is a committed diff, never written again: the reason :mod:`.difflink`
may share its inodes. A file whose entry (mode, owner, size, mtime) and source identity (inode
and ctime: what the stat cache trusts, and what every copy checks it read, :mod:`.contextcheck`)
are those it was copied with holds the bytes this copy would write, so it is linked instead.

So that everything but those files' bytes is written by the copier as before:

1. the copier runs with every reusable file held back: it makes the directories (with their
   metadata), the symlinks and whatever is not reusable;
2. with the overlay unmounted, the unchanged files are linked into the upperdir;
3. the copier runs again holding back the linked files: it writes the changed ones and sets every
   directory's metadata as it does for a directory it made.

Each copy that may be reused records its files beside its diff (``ID/copied``) and is named the
last of its lineage (``snapshots/.copies/LINEAGE``, removed by the prune that removes the snapshot).
A record that is missing or damaged, or names a pruned snapshot, means a full copy; a link that
fails (the snapshot pruned meanwhile) leaves that file to the copier.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard import cancel
from dockyard.engine.copy import CopySpec
from dockyard.oci.tarfs import LNK, REG, TarEntry
from dockyard.store.snapshots import COPY_LINEAGES, Active, Snapshot, Snapshotter

RECORD = "copied"

# mode, uid, gid, size, mtime (the entry's); inode, ctime_ns (the source file's when it was keyed)
FileKey = tuple[int, int, int, int, int, int, int]


class Lineage:
    """One COPY's copies in a store: the context directory, the snapshot copied onto and everything
    the COPY says (sources, destination, owner, mode, excludes) make two copies versions of each
    other. ``entries`` are this copy's layer entries (a plain new tree of keyed context files)."""

    def __init__(self, snapshots: Snapshotter, context: Path, base: str | None, spec: CopySpec,
                 entries: Sequence[TarEntry]) -> None:
        self._snapshots = snapshots
        self._entries = entries
        self._name = hashlib.sha256(repr((os.fspath(context), base, spec)).encode()).hexdigest()[:32]

    @functools.cached_property
    def files(self) -> dict[bytes, FileKey]:
        """The regular files a later copy may link: those read from a keyed context file, and not in
        a group of hard links (the copier links those among themselves). Listed once: by the copy
        when a last copy exists, else by :meth:`remember`."""
        grouped = {entry.linkname for entry in self._entries if entry.kind == LNK}
        return {entry.name: (entry.mode, entry.uid, entry.gid, entry.size, entry.mtime, *entry.identity)
                for entry in self._entries
                if entry.kind == REG and entry.identity is not None and entry.name not in grouped}

    def copy(self, active: Active, copy: Callable[[frozenset[bytes], bool], object]) -> None:
        """Copy into ``active``, linking what the last copy holds unchanged.

        ``copy(held_back, remade)`` runs the copier through ``active``'s mount, leaving the regular
        files named in ``held_back`` (layer names) as they are, and with ``remade`` setting the
        metadata of every directory as for one it made: in a plain new tree every directory below
        the destination is one the first pass made."""
        before = self._last()
        unchanged = [] if before is None else [name for name, key in self.files.items()
                                               if before.files.get(name) == key]
        if before is None or not unchanged:
            copy(frozenset(), False)
            return
        copy(frozenset(self.files), False)
        active.unmount()  # the upperdir is written directly: never under a mounted overlay
        linked = _link(before.diff, os.fsencode(active.upper), unchanged)
        copy(frozenset(linked), True)

    def remember(self, snap: Snapshot) -> None:
        """Record the files beside ``snap``'s diff and make it the last copy. Best effort: a record
        lost costs the next copy its links, nothing else."""
        with contextlib.suppress(OSError):
            _replace(snap.diff.parent / RECORD, marshal.dumps(self.files))
            pointers = self._snapshots.root / COPY_LINEAGES
            pointers.mkdir(exist_ok=True)
            _replace(pointers / self._name, snap.id.encode())

    def _last(self) -> _LastCopy | None:
        """The last committed copy and its record, or None (none yet, pruned, unreadable)."""
        pointer = self._snapshots.root / COPY_LINEAGES / self._name
        try:
            ident = pointer.read_text()
        except OSError:
            return None
        if not self._snapshots.exists(ident):
            with contextlib.suppress(OSError):
                pointer.unlink()  # pruned: the lineage starts again with this copy
            return None
        snap = self._snapshots.get(ident)
        try:
            files = marshal.loads((snap.diff.parent / RECORD).read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return None
        return _LastCopy(os.fsencode(snap.diff), files) if isinstance(files, dict) else None


@dataclass(frozen=True)
class _LastCopy:
    """A lineage's last copy: its committed diff and the files it recorded."""

    diff: bytes
    files: dict[bytes, FileKey]


def _replace(path: Path, data: bytes) -> None:
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    staging.write_bytes(data)
    os.replace(staging, path)


def _link(source: bytes, target: bytes, names: Sequence[bytes]) -> list[bytes]:
    """Hard-link ``names`` from the diff ``source`` into the upperdir ``target``, whose directories
    the first pass made (the second sets their times again); names that cannot be linked are left out."""
    made: dict[bytes, bool] = {}
    linked = []
    for count, name in enumerate(names):
        if count % 1024 == 0:
            cancel.check()
        parent = name.rpartition(b"/")[0]
        if parent not in made:  # a directory only the layers below hold has nothing in the upperdir
            made[parent] = os.path.isdir(target + b"/" + parent if parent else target)
        if not made[parent]:
            continue
        try:
            os.link(source + b"/" + name, target + b"/" + name, follow_symlinks=False)
        except OSError:
            continue
        linked.append(name)
    return linked

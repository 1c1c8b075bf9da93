"""A step that read the build context fails when what it read is not what its cache key hashed.

dockyard reads the context in place: the keys of every step are made first (hashing the files
each COPY or context mount selects), then the steps run, a RUN of minutes before a ``COPY . .``
included. A file saved in between would be copied while the key still names the bytes hashed
before, and the step's cache record would later serve the new bytes to a context holding the old
ones: a stale file, silently. BuildKit syncs the context once into a snapshot of its own
(``source/local/source.go`` ``localSourceHandler.Snapshot``) and every step reads that copy;
dockyard checks instead that each file the key hashed is, when the step has read it, the file
with the inode and ctime it was keyed with (a write moves ctime, and nothing can set it back),
and fails the step otherwise: nothing of it is recorded, and the next build keys the new files.
A COPY's readers (the copier, the tar writer) compare each file they read through its open
descriptor (``SourceChanged``); a step that reads the context through a mount is checked after it
ran (:meth:`dockyard.graph.contenthash.KeyedSelection.changed`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dockyard.engine.results import ContextResult
from dockyard.errors import BuildError
from dockyard.graph.contenthash import KeyedSelection
from dockyard.oci.tarfs import SourceChanged
from dockyard.selector import SourceSpec


def keyed_selection(context: ContextResult, spec: SourceSpec, excludes: tuple[str, ...]) -> KeyedSelection | None:
    """What the key of a step reading ``spec`` from ``context`` hashed (None: keyed elsewhere, as
    on a node that received its own copy of the context)."""
    return context.listing.keyed(spec, ignore=excludes) if context.listing is not None else None


def check_unchanged(keyed: KeyedSelection | None, step: str, *, files: bool = True) -> None:
    """Raise when a context entry ``keyed`` names changed since the build's keys were made
    (``files`` False: its symlinks only, where the reader compared each file it read itself)."""
    changed = keyed.changed(files=files) if keyed is not None else None
    if changed is not None:
        raise _changed(step, changed)


@contextlib.contextmanager
def read_as_keyed(keyed: KeyedSelection | None, step: str, root: Path, *, files: bool = False) -> Iterator[None]:
    """Around a copy or an archive of context files: the copier and the tar writer compare each file
    they read with the stat it was selected with (``SourceChanged``), the symlinks are compared
    after (and every file too with ``files``: ADD reads a local archive with its own reader); either
    way the step fails naming the file."""
    try:
        yield
    except SourceChanged as exc:
        raise _changed(step, os.path.relpath(os.fsdecode(exc.path), root)) from None
    check_unchanged(keyed, step, files=files)


def _changed(step: str, rel: str) -> BuildError:
    return BuildError(f"{step}: the build context changed during the build: {rel} is not the file its cache key "
                      "hashed", hint="nothing of this step was cached; build again once the files stop changing")

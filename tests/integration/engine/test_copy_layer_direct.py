"""A COPY archived straight from the context makes the very layer the overlay copy makes.

For each destination shape (new at the root, an existing empty WORKDIR, new below existing
directories, a chain of new directories with --chown/--chmod, an empty root) the layer is made
both ways on a real overlay mount: :func:`copy_into` through the mounted stack then the
upperdir's tar, and :func:`layer_entries` from the context alone. SOURCE_DATE_EPOCH clamps the
times the copy stamps "now", so the two diff_ids must be equal byte for byte. The shapes the
direct path must leave to the copier (a non-empty destination, a directory over a whiteout,
xattrs, more than one source) return None.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine.copy import CopySpec, copy_into
from dockyard.engine.copylayer import layer_entries
from dockyard.graph.contenthash import ContextHasher
from dockyard.oci.layer import Compression, LayerOptions, make_layer, make_layer_of
from dockyard.store.snapshots import Snapshot, Snapshotter

pytestmark = pytest.mark.integration

EPOCH = 1_500_000_000  # after every time below, before "now"
OLD = 946_684_800  # 2000-01-01
OPTIONS = LayerOptions(compression=Compression.NONE, source_date_epoch=EPOCH)


@pytest.fixture
def snaps(tmp_path: Path) -> Iterator[Snapshotter]:
    snapshotter = Snapshotter(tmp_path / "snapshots", overlay=True)
    yield snapshotter
    snapshotter.close()


def _context(root: Path) -> Path:
    src = root / "ctx" / "src"
    for d in ("a/b", "empty", "c"):
        (src / d).mkdir(parents=True)
    (src / "a" / "one.txt").write_text("one")
    (src / "a" / "b" / "two.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "a" / "b" / "two.sh", 0o4755)
    (src / "c" / "secret").write_text("s")
    os.chmod(src / "c" / "secret", 0o600)
    os.link(src / "a" / "one.txt", src / "c" / "linked.txt")  # a hard link inside the selection
    (src / "a-b").mkdir()  # sorts before "a/..." as a string, after "a" as a name: the layer has a/ first
    (src / "a-b" / "x").write_text("x")
    (src / "a.txt").write_text("a")
    (src / "alone.txt").write_text("partner outside")
    os.link(src / "alone.txt", root / "ctx" / "outside.txt")  # its other name is not copied
    os.symlink("src", root / "ctx" / "via")  # a source named through a link is followed
    os.symlink("a/one.txt", src / "link")
    for path in [*sorted(src.rglob("*"), reverse=True), src]:
        os.utime(path, (OLD, OLD), follow_symlinks=False)
    return root / "ctx"


def _base(snaps: Snapshotter) -> Snapshot:
    with snaps.prepare(None) as active:
        up = active.upper
        (up / "usr" / "src" / "app").mkdir(parents=True)
        os.chmod(up / "usr" / "src", 0o750)
        os.chown(up / "usr" / "src", 7, 7)
        os.chmod(up / "usr" / "src" / "app", 0o700)
        os.chown(up / "usr" / "src" / "app", 5, 6)
        (up / "opt").mkdir()
        (up / "opt" / "there").write_text("x")
        os.mknod(up / "gone", stat.S_IFCHR | 0o600, os.makedev(0, 0))  # a whiteout of an older /gone
        for path in ("usr/src/app", "usr/src", "usr", "opt/there", "opt"):
            os.utime(up / path, (OLD - 1000, OLD - 1000))
        return active.commit()


def _keyed(ctx: Path, spec: CopySpec) -> ContextHasher:
    """The hasher that keyed ``spec`` (the worker hands it to the COPY)."""
    hasher = ContextHasher(ctx)
    hasher.checksum(spec.selection(), ignore=spec.context_excludes)
    assert hasher.keyed(spec.selection(), ignore=spec.context_excludes) is not None
    return hasher


def _both(snaps: Snapshotter, parent: str | None, ctx: Path, tmp_path: Path, spec: CopySpec, *,
          keyed: bool = False) -> tuple[str, str | None]:
    """(diff_id copied through the overlay, diff_id archived from the context or None); ``keyed``:
    archived from the selection the key phase hashed instead of a walk of its own."""
    listing = _keyed(ctx, spec) if keyed else None
    with snaps.prepare(parent) as active:
        entries = layer_entries(source_root=ctx, dest_root=active.mount(), lowers=[s.diff for s in active.lowers],
                                spec=spec, source_date_epoch=EPOCH, listing=listing)
        direct = None if entries is None else str(make_layer_of(entries, tmp_path, options=OPTIONS).diff_id)
    with snaps.prepare(parent) as active:
        copy_into(source_root=ctx, dest_root=active.mount(), spec=spec)
        snap = active.commit()
    return str(make_layer(snap.diff, tmp_path, options=OPTIONS).diff_id), direct


CASES = {
    "new-at-root": CopySpec(paths=("src/",), dest="/files/"),
    "existing-empty-workdir": CopySpec(paths=("src",), dest=".", workdir="/usr/src/app"),
    "new-below-existing": CopySpec(paths=("src",), dest="/usr/src/new/deeper/"),
    "new-chain-chown-chmod": CopySpec(paths=("src/",), dest="/t/a/b", chown=(1000, 1001), chmod="0750"),
    "symbolic-chmod": CopySpec(paths=("src/",), dest="/sym/", chmod="u+x,g-w,o="),
    "excludes": CopySpec(paths=("src/",), dest="/ex/", excludes=("c",)),
    "source-through-a-link": CopySpec(paths=("via",), dest="/via/"),
    "lazy-parent": CopySpec(paths=("src/",), dest="/lz/", excludes=("a", "!a/b/two.sh")),  # a/, a/b/ lazy
}


@pytest.mark.parametrize("keyed", [False, True], ids=["walked", "keyed-listing"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_direct_layer_is_the_copied_layer(case: str, keyed: bool, snaps: Snapshotter, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    base = _base(snaps)
    copied, direct = _both(snaps, base.id, ctx, tmp_path, CASES[case], keyed=keyed)
    assert direct is not None, "this shape should be archived from the context"
    assert direct == copied


def test_the_direct_layer_holds_what_the_key_phase_listed(snaps: Snapshotter, tmp_path: Path) -> None:
    """Handed the key phase's listing, the COPY does not walk the context again: an entry made
    after keying is not in the layer (the key hashed the context without it)."""
    ctx = _context(tmp_path)
    spec = CopySpec(paths=("src/",), dest="/files/")
    listing = _keyed(ctx, spec)
    (ctx / "src" / "late.txt").write_text("made after the key phase")
    names: dict[bool, set[bytes]] = {}
    for given in (listing, None):
        with snaps.prepare(None) as active:
            entries = layer_entries(source_root=ctx, dest_root=active.mount(), lowers=[], spec=spec,
                                    source_date_epoch=EPOCH, listing=given)
        assert entries is not None
        names[given is None] = {e.name for e in entries}
    assert b"files/late.txt" in names[True]
    assert names[False] == names[True] - {b"files/late.txt"}


def test_an_empty_root_takes_the_direct_path_too(snaps: Snapshotter, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    copied, direct = _both(snaps, None, ctx, tmp_path, CopySpec(paths=("src",), dest="/"))
    assert direct is not None and direct == copied


@pytest.mark.parametrize(("case", "spec"), [
    ("non-empty-destination", CopySpec(paths=("src/",), dest="/opt/")),
    ("over-a-whiteout", CopySpec(paths=("src/",), dest="/gone/")),
    ("two-sources", CopySpec(paths=("src/a", "src/c"), dest="/two/")),
    ("a-file-source", CopySpec(paths=("src/alone.txt",), dest="/f/")),
    ("add", CopySpec(paths=("src/",), dest="/add/", unpack=True)),
])
def test_other_shapes_are_left_to_the_copier(case: str, spec: CopySpec, snaps: Snapshotter, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    base = _base(snaps)
    copied, direct = _both(snaps, base.id, ctx, tmp_path, spec)
    assert direct is None
    assert copied.startswith("sha256:")


@pytest.mark.parametrize("keyed", [False, True], ids=["walked", "keyed-listing"])
def test_extended_attributes_are_left_to_the_copier(keyed: bool, snaps: Snapshotter, tmp_path: Path) -> None:
    """Keyed, the attribute is found through the key's record of the entries that showed any."""
    ctx = _context(tmp_path)
    try:
        os.setxattr(ctx / "src" / "a" / "one.txt", "user.note", b"kept")
    except OSError:
        pytest.skip("this filesystem has no user xattrs")
    copied, direct = _both(snaps, _base(snaps).id, ctx, tmp_path, CopySpec(paths=("src/",), dest="/x/"),
                           keyed=keyed)
    assert direct is None and copied.startswith("sha256:")

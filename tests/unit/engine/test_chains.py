"""Base layers unpacked once per chain ID, verified against their diff_ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dockyard.digest import Digest, DigestMismatchError
from dockyard.oci.layer import LayerOptions, make_layer
from dockyard.store.cache import CacheDB, LayerRecord
from dockyard.store.chains import chain_ids, record_chain, unpack_layers
from dockyard.store.snapshots import Snapshotter


def _blob(tmp_path: Path, name: str, files: dict[str, str]) -> tuple[Path, LayerRecord]:
    src = tmp_path / f"src-{name}"
    src.mkdir()
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    blob = make_layer(src, tmp_path, options=LayerOptions(source_date_epoch=0))
    return blob.path, LayerRecord(digest=blob.digest, diff_id=blob.diff_id, size=blob.size,
                                  media_type=blob.media_type)


def test_chain_ids_follow_the_image_spec() -> None:
    a, b = Digest.of_bytes(b"a"), Digest.of_bytes(b"b")
    expected = hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    assert chain_ids([a, b]) == [a, Digest("sha256", expected)]


def test_stacks_are_unpacked_once_and_shared(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path / "snapshots", overlay=False)
    cache = CacheDB(tmp_path / "cache.db")
    base = _blob(tmp_path, "base", {"etc/os-release": "base"})
    app = _blob(tmp_path, "app", {"app/run": "app"})
    other = _blob(tmp_path, "other", {"srv/other": "other"})
    top = unpack_layers(snaps, cache, [base, app])
    assert top is not None
    chain = snaps.chain(top.id)
    assert len(chain) == 2 and (chain[0].diff / "etc" / "os-release").read_text() == "base"
    assert (chain[1].diff / "app" / "run").read_text() == "app"
    before = set(snaps.ids())
    assert unpack_layers(snaps, cache, [base, app]) == top
    assert set(snaps.ids()) == before
    sibling = unpack_layers(snaps, cache, [base, other])
    assert sibling is not None and sibling.parent == chain[0].id
    assert len(snaps.ids()) == 3
    assert unpack_layers(snaps, cache, []) is None


def test_a_layer_that_does_not_match_its_diff_id_is_not_kept(tmp_path: Path) -> None:
    snaps = Snapshotter(tmp_path / "snapshots", overlay=False)
    cache = CacheDB(tmp_path / "cache.db")
    path, record = _blob(tmp_path, "base", {"f": "x"})
    lying = LayerRecord(digest=record.digest, diff_id=Digest.of_bytes(b"something else"), size=record.size,
                        media_type=record.media_type)
    with pytest.raises(DigestMismatchError):
        unpack_layers(snaps, cache, [(path, lying)])
    assert snaps.ids() == []
    assert cache.records() == []


def test_a_recorded_step_snapshot_is_where_a_longer_chain_starts(tmp_path: Path) -> None:
    """A COPY archived from the context is unpacked on the snapshot of the step below it (worker
    ``_copy`` records it with ``record_chain``), not from the base image up again."""
    snaps = Snapshotter(tmp_path / "snapshots", overlay=False)
    cache = CacheDB(tmp_path / "cache.db")
    base = _blob(tmp_path, "base", {"etc/os-release": "base"})
    step = _blob(tmp_path, "step", {"usr/bin/tool": "built by a RUN"})
    copied = _blob(tmp_path, "copy", {"app/main": "from the context"})
    below = unpack_layers(snaps, cache, [base])
    assert below is not None
    with snaps.prepare(below.id) as active:  # the RUN step's own snapshot: no chain record of its own
        (active.upper / "usr" / "bin").mkdir(parents=True)
        (active.upper / "usr" / "bin" / "tool").write_text("built by a RUN")
        run = active.commit()
    record_chain(cache, [base[1], step[1]], run.id)
    top = unpack_layers(snaps, cache, [base, step, copied])
    assert top is not None and top.parent == run.id
    assert len(snaps.ids()) == 3  # base, the step, the copy: the step's layer was not unpacked again
    assert (top.diff / "app" / "main").read_text() == "from the context"

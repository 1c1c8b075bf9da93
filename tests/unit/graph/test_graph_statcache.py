"""The context stat cache persists between builds and keeps only what the last build used."""

from __future__ import annotations

import os
from pathlib import Path

from dockyard.graph.contenthash import StatCache


def test_saved_digests_are_reused_and_unused_ones_dropped(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("alpha")
    b.write_text("beta")
    store = tmp_path / "stat.json"
    first = StatCache()
    for f in (a, b):
        first.digest(f.name, bytes(f), os.stat(f))
    first.save(store)
    second = StatCache.load(store)
    assert second.digest("a", bytes(a), os.stat(a)) == first.digest("a", bytes(a), os.stat(a))
    assert second.reads == 0
    second.save(store)  # b was not used in this "build"
    third = StatCache.load(store)
    third.digest("b", bytes(b), os.stat(b))
    assert third.reads == 1
    a.write_text("changed!")  # new size and mtime: read again
    third.digest("a", bytes(a), os.stat(a))
    assert third.reads == 2


def test_a_build_that_read_and_dropped_nothing_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    a = tmp_path / "a"
    a.write_text("alpha")
    store = tmp_path / "stat.json"
    first = StatCache()
    first.digest("a", bytes(a), os.stat(a))
    first.save(store)
    before = os.stat(store)
    warm = StatCache.load(store)
    warm.digest("a", bytes(a), os.stat(a))
    warm.save(store)  # the same rows: not written again
    after = os.stat(store)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    store.unlink()
    warm.save(store)  # gone meanwhile: written
    assert StatCache.load(store).digest("a", bytes(a), os.stat(a)) == first.digest("a", bytes(a), os.stat(a))

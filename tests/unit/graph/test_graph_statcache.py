"""The context stat cache persists between builds and keeps only what the last build used."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dockyard.graph.contenthash import TICK_NS, ContextHasher, StatCache
from dockyard.selector import SourceSpec


def test_saved_digests_are_reused_and_unused_ones_dropped(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("alpha")
    b.write_text("beta")
    time.sleep(TICK_NS / 1e9 + 0.02)  # older than a clock tick, so kept (StatCache._note_racy)
    store = tmp_path / "stat.json"
    first = StatCache()
    for f in (a, b):
        first.digest(f.name, bytes(f), os.stat(f))
    first.save(store)
    second = StatCache.load(store)
    assert second.digest("a", bytes(a), os.stat(a)) == first.digest("a", bytes(a), os.stat(a))
    assert second.reads == 0
    assert second.facts("a", bytes(a), os.stat(a))[1] == ("", False)  # rows of digests alone (a context sync's)
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
    time.sleep(TICK_NS / 1e9 + 0.02)  # older than a clock tick, so kept (StatCache._note_racy)
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


def _user_xattr(path: Path, value: bytes) -> None:
    try:
        os.setxattr(path, "user.note", value)
    except OSError:
        pytest.skip("this filesystem has no user xattrs")


def test_attributes_are_listed_once_and_a_change_of_them_is_seen(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm cache answers a file's attributes without listing them; setting one moves the
    file's ctime, so the next build lists them again and its key changes."""
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "src" / "f").write_text("f")
    time.sleep(TICK_NS / 1e9 + 0.02)  # older than a clock tick, so kept (StatCache._note_racy)
    spec = SourceSpec(paths=("src",))
    store = tmp_path / "stat.json"
    first = StatCache()
    key = ContextHasher(ctx, cache=first).checksum(spec)
    first.save(store)
    listed: list[bytes] = []
    real = os.listxattr

    def counting(path: bytes, *, follow_symlinks: bool = True) -> list[str]:
        listed.append(path)
        return real(path, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(os, "listxattr", counting)
    warm = StatCache.load(store)
    assert ContextHasher(ctx, cache=warm).checksum(spec) == key
    assert os.fsencode(ctx / "src" / "f") not in listed  # the directory is listed, the file answered
    assert os.fsencode(ctx / "src") in listed
    _user_xattr(ctx / "src" / "f", b"v")
    warm.save(store)
    changed = ContextHasher(ctx, cache=StatCache.load(store))
    assert changed.checksum(spec) != key
    assert os.fsencode(ctx / "src" / "f") in listed
    keyed = changed.keyed(spec)
    assert keyed is not None and os.fsencode(ctx / "src" / "f") in keyed.with_xattrs



def test_a_file_changed_within_a_tick_of_its_read_is_not_kept(tmp_path: Path) -> None:
    """git's "racily clean" entries: a second write in the same clock tick as the stat would keep
    size, mtime and ctime, so a digest read that early serves its build but is not saved; read
    again once the file is older than a tick, it is kept."""
    a = tmp_path / "a"
    a.write_text("alpha")
    store = tmp_path / "stat.json"
    early = StatCache()
    digest = early.digest("a", bytes(a), os.stat(a))  # read right after the write: racy
    assert early.digest("a", bytes(a), os.stat(a)) == digest and early.reads == 1  # this build uses it
    early.save(store)
    later = StatCache.load(store)
    assert later.digest("a", bytes(a), os.stat(a)) == digest and later.reads == 1  # not kept: read again
    time.sleep(TICK_NS / 1e9 + 0.02)
    settled = StatCache.load(store)
    settled.digest("a", bytes(a), os.stat(a))
    settled.save(store)
    kept = StatCache.load(store)
    assert kept.digest("a", bytes(a), os.stat(a)) == digest and kept.reads == 0

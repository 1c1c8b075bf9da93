"""The store's size as automatic GC, ``du`` and ``prune`` see it: the same bytes as a full walk,
without walking every committed snapshot again after each build.

BuildKit measures a cache record's snapshot once and keeps the size in its metadata
(``cache/refs.go`` ``cacheRecord.size``: ``getSize`` unless ``sizeUnknown``); a mutable ref (a
cache mount) has its size queued as unknown again when it is released. The ledger here does
the same for committed snapshots and cache mounts (``dockyard.store.diskusage``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.store import diskusage
from dockyard.store.diskusage import LEDGER, store_size, tree_size
from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration


def _build(tmp_path: Path, dockerfile: str, name: str = "ctx") -> None:
    ctx = tmp_path / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    dockyard("build", "--progress", "quiet", str(ctx))


def _committed(root: Path) -> set[Path]:
    return {p for p in (root / "snapshots").iterdir() if p.is_dir() and not p.name.startswith(("tmp-", "."))}


def test_store_size_is_a_full_walk_without_walking_committed_snapshots_again(
        busybox_base: str, tmp_path: Path, dockyard_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _build(tmp_path, f"FROM {busybox_base}\nRUN head -c 1000000 /dev/urandom > /noise\n")
    first = store_size(dockyard_root)
    assert first == tree_size(dockyard_root)
    assert first > 1_000_000

    walked: list[Path] = []
    real = diskusage.tree_size

    def counting(path: Path) -> int:
        walked.append(path)
        return real(path)

    monkeypatch.setattr(diskusage, "tree_size", counting)
    assert store_size(dockyard_root) == first
    snapshots = _committed(dockyard_root)
    assert len(snapshots) >= 2  # busybox's layer and the RUN's
    assert not snapshots & set(walked)

    (dockyard_root / "snapshots" / LEDGER).write_text("{not json")  # a torn or foreign ledger: measured again
    assert store_size(dockyard_root) == real(dockyard_root)
    assert snapshots <= set(walked)


def test_a_cache_mount_is_measured_again_after_a_step_used_it(busybox_base: str, tmp_path: Path,
                                                               dockyard_root: Path) -> None:
    mount = "RUN --mount=type=cache,target=/c,sharing=locked"
    _build(tmp_path, f"FROM {busybox_base}\n{mount} head -c 1000000 /dev/urandom > /c/one\n", "one")
    before = store_size(dockyard_root)
    assert before == tree_size(dockyard_root)
    _build(tmp_path, f"FROM {busybox_base}\n{mount} head -c 2000000 /dev/urandom > /c/two\n", "two")
    after = store_size(dockyard_root)
    assert after == tree_size(dockyard_root)  # a stale size of the mount would miss /c/two's 2 MB
    assert after - before > 2_000_000


def test_pruned_snapshots_leave_the_ledger(busybox_base: str, tmp_path: Path, dockyard_root: Path) -> None:
    _build(tmp_path, f"FROM {busybox_base}\nRUN echo hi > /hi\n")
    store_size(dockyard_root)
    ledger = dockyard_root / "snapshots" / LEDGER
    assert {f"snapshots/{p.name}" for p in _committed(dockyard_root)} <= set(json.loads(ledger.read_text()))
    dockyard("prune", "--all", "--force")
    assert store_size(dockyard_root) == tree_size(dockyard_root)
    assert not _committed(dockyard_root)
    assert not any(key.startswith("snapshots/") for key in json.loads(ledger.read_text()))

"""The store's reclaim: dead makers' temporaries go, live makers' stay and are counted (issue 18, item 5)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dockyard.store.owner import owner, stamp
from dockyard.store.reclaim import in_use, reclaim


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _make(path: Path, size: int = 10_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def test_owner_reads_the_stamped_pid() -> None:
    assert owner(f"{stamp('.ingest-')}abc_12") == os.getpid()
    assert owner("bundle-123-ab_c") == 123
    assert owner(".ingest-abcdef12") is None  # made before names were stamped: never guessed


def test_dead_makers_temporaries_are_removed_and_live_ones_counted(tmp_path: Path) -> None:
    dead, live = _dead_pid(), os.getpid()
    doomed = [
        _make(tmp_path / "content/blobs/sha256" / f".ingest-{dead}-aaaa"),
        _make(tmp_path / "content/ingest" / f".layer-{dead}-bbbb"),
        _make(tmp_path / "run" / f"bundle-{dead}-cccc" / "config.json"),
        _make(tmp_path / "run" / f"secrets-{dead}-dddd" / "secret"),
        _make(tmp_path / "cachemounts" / f"cachemount-{dead}-eeee" / "f"),
        _make(tmp_path / f"scratch-{dead}-ffff" / "f"),
    ]
    kept = [
        _make(tmp_path / "content/blobs/sha256" / f".ingest-{live}-gggg"),
        _make(tmp_path / "run" / f"bundle-{live}-hhhh" / "config.json"),
        _make(tmp_path / "content/blobs/sha256" / ".ingest-unstamped"),
        _make(tmp_path / "content/blobs/sha256" / ("a" * 64)),  # a blob, not a temporary
    ]
    reaped: list[str] = []

    def reap() -> list[str]:
        reaped.append("called")
        return ["dockyard-1-x"]

    done = reclaim(tmp_path, reap_containers=reap)
    assert reaped == ["called"]  # a dead bundle means its container may still run
    assert (done.containers, done.entries) == (1, len(doomed))
    assert done.size >= 6 * 10_000
    assert not any(p.exists() for p in doomed)
    assert not (tmp_path / "run" / f"bundle-{dead}-cccc").exists()
    assert all(p.exists() for p in kept)
    assert in_use(tmp_path) >= 3 * 10_000  # the live and unstamped temporaries, not the blob
    assert reclaim(tmp_path, reap_containers=reap).entries == 0
    assert reaped == ["called"]  # no dead bundle: the runtime is not asked


def test_snapshots_being_written_go_only_when_nobody_uses_the_store(tmp_path: Path) -> None:
    from dockyard.store.lock import FileLock

    tmp = _make(tmp_path / "snapshots" / "tmp-0123456789ab" / "fs" / "f")
    user = FileLock(tmp_path / "snapshots" / ".lock")
    user.acquire(exclusive=False)
    reclaim(tmp_path)
    assert tmp.exists()
    user.release()
    reclaim(tmp_path)
    assert not (tmp_path / "snapshots" / "tmp-0123456789ab").exists()

"""The content store ingests atomically and verifies digests, even with concurrent writers."""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path

import pytest

from dockyard.digest import Digest, DigestMismatchError
from dockyard.errors import StoreError
from dockyard.store.content import ContentStore


def test_ingest_and_read(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    blob = store.ingest(io.BytesIO(b"hello"))
    assert blob.digest == Digest.of_bytes(b"hello")
    assert store.has(blob.digest) and store.size(blob.digest) == 5
    assert store.path(blob.digest) == tmp_path / "blobs" / "sha256" / blob.digest.hex
    with store.open(blob.digest) as f:
        assert f.read() == b"hello"


def test_default_store_lives_under_the_data_root(dockyard_root: Path) -> None:
    assert ContentStore.default().root == dockyard_root / "content"


def test_mismatch_leaves_nothing_behind(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    wrong = Digest.of_bytes(b"other")
    with pytest.raises(DigestMismatchError):
        store.ingest(io.BytesIO(b"hello"), expected=wrong)
    assert not store.has(wrong)
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_short_stream_is_refused(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(StoreError, match="expected 10"):
        store.ingest(io.BytesIO(b"hello"), size=10)


def test_writer_discards_on_exception(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)

    def produce() -> None:
        with store.writer() as w:
            w.write(b"partial")
            raise RuntimeError("producer failed")

    with pytest.raises(RuntimeError):
        produce()
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_missing_blob_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not in the content store"):
        ContentStore(tmp_path).open(Digest.of_bytes(b"x"))


def _write_many(root: str, seed: int) -> None:
    """Ingest the same 7 blobs as the other processes, and check every visible blob is whole."""
    store = ContentStore(Path(root))
    for i in range(30):
        store.ingest_bytes(bytes([(i + seed) % 7]) * 200_000)
        for j in range(7):
            digest = Digest.of_bytes(bytes([j]) * 200_000)
            if store.has(digest):
                assert store.read_bytes(digest) == bytes([j]) * 200_000


def test_concurrent_processes_never_see_partial_blobs(tmp_path: Path) -> None:
    procs = [multiprocessing.Process(target=_write_many, args=(str(tmp_path), s)) for s in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    store = ContentStore(tmp_path)
    for i in range(7):
        d = Digest.of_bytes(bytes([i]) * 200_000)
        assert store.read_bytes(d) == bytes([i]) * 200_000
    assert not [p for p in (tmp_path / "blobs" / "sha256").iterdir() if p.name.startswith(".")]

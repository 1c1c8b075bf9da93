"""Downloads cut off midway continue from where they stopped (Range), or start over when refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.digest import Digest
from dockyard.oci.descriptor import Descriptor
from dockyard.registry import HostsConfig, Keychain, RetryPolicy, TransportOptions, blobs
from dockyard.registry.errors import UnreachableError
from dockyard.registry.transport import Session
from dockyard.store.content import ContentStore
from tests.unit.registry.fakeregistry import FakeRegistry


class _Breaking(httpx.SyncByteStream):
    """Yields ``data`` up to ``cut`` bytes, then the connection 'drops'."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut = data, cut

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: self.cut]
        raise httpx.ReadError("connection reset by peer")


def _setup(fake: FakeRegistry, cuts: list[int]) -> tuple[Session, Descriptor, bytes, list[str]]:
    data = os.urandom(300_000)
    digest = Digest.of_bytes(data)
    fake.blobs[str(digest)] = data
    ranges: list[str] = []

    def cut_off(request: httpx.Request) -> httpx.Response | None:
        if request.method != "GET" or "/blobs/sha256:" not in request.url.path:
            return None
        ranges.append(request.headers.get("range", ""))
        if not cuts:
            return None
        start = int(request.headers.get("range", "bytes=0-")[6:].rstrip("-")) if fake.honour_range else 0
        status = 206 if start else 200
        return httpx.Response(status, stream=_Breaking(data[start:], cuts.pop(0)))

    fake.faults.append(cut_off)
    opts = TransportOptions(transport=fake.transport(), retry=RetryPolicy(attempts=3, sleep=lambda s: None))
    session = Session("fake.test", hosts=HostsConfig(), keychain=Keychain(), options=opts)
    return session, Descriptor("application/octet-stream", digest, len(data)), data, ranges


def test_download_resumes_with_range(tmp_path: Path) -> None:
    fake = FakeRegistry()
    session, desc, data, ranges = _setup(fake, [100_000, 50_000])
    store = ContentStore(tmp_path)
    blobs.fetch(session, "app", desc, store)
    assert store.read_bytes(desc.digest) == data
    assert ranges == ["", "bytes=100000-", "bytes=150000-"]


def test_download_restarts_when_range_is_ignored(tmp_path: Path) -> None:
    fake = FakeRegistry(honour_range=False)
    session, desc, data, ranges = _setup(fake, [100_000])
    store = ContentStore(tmp_path)
    blobs.fetch(session, "app", desc, store)
    assert store.read_bytes(desc.digest) == data
    assert ranges == ["", "bytes=100000-"]


def test_download_without_progress_gives_up_and_leaves_nothing(tmp_path: Path) -> None:
    fake = FakeRegistry()
    session, desc, _, _ = _setup(fake, [0, 0, 0, 0])
    store = ContentStore(tmp_path)
    with pytest.raises(UnreachableError, match=r"fake\.test"):
        blobs.fetch(session, "app", desc, store)
    assert not store.has(desc.digest)
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []

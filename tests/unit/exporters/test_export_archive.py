"""The deterministic tar writer shared by the OCI and docker archives."""

from __future__ import annotations

import io
import tarfile

import pytest

from dockyard.errors import StoreError
from dockyard.exporters.archive import TarWriter


def _archive() -> bytes:
    buf = io.BytesIO()
    tar = TarWriter(buf)
    tar.add_dir("blobs")
    tar.add_bytes("index.json", b"{}")
    tar.add_stream("blobs/" + "a" * 120, 5, io.BytesIO(b"hello"))
    tar.close()
    return buf.getvalue()


def test_entries_have_fixed_metadata_and_long_names() -> None:
    data = _archive()
    assert data == _archive()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["blobs", "index.json", "blobs/" + "a" * 120]
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert members[0].isdir() and members[0].mode == 0o755
        assert members[1].mode == 0o644
        extracted = tar.extractfile(members[2])
        assert extracted is not None and extracted.read() == b"hello"


@pytest.mark.parametrize("content", [b"hell", b"hello!"])
def test_stream_of_the_wrong_size_is_an_error(content: bytes) -> None:
    tar = TarWriter(io.BytesIO())
    with pytest.raises(StoreError, match="expected 5 bytes"):
        tar.add_stream("x", 5, io.BytesIO(content))

"""Digests are validated, and computed while streaming."""

from __future__ import annotations

import hashlib
import io

import pytest

from dockyard.digest import Digest, DigestMismatchError, HashingReader, HashingWriter, verify
from dockyard.errors import UsageError


def test_parse_round_trip() -> None:
    text = "sha256:" + "a" * 64
    assert str(Digest.parse(text)) == text
    assert Digest.parse(text).short == "a" * 12


@pytest.mark.parametrize("text", ["sha256:abc", "md5:" + "a" * 32, "sha256:" + "A" * 64, "a" * 64])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        Digest.parse(text)


def test_reader_and_writer_hash_what_flows() -> None:
    data = b"x" * 3_000_001
    reader = HashingReader(io.BytesIO(data))
    sink = io.BytesIO()
    writer = HashingWriter(sink)
    while chunk := reader.read(65536):
        writer.write(chunk)
    expected = Digest("sha256", hashlib.sha256(data).hexdigest())
    assert reader.digest() == writer.digest() == expected
    assert reader.size == writer.size == len(data)
    assert sink.getvalue() == data


def test_verify_raises_with_hint() -> None:
    with pytest.raises(DigestMismatchError) as info:
        verify(Digest.of_bytes(b"a"), Digest.of_bytes(b"b"), what="layer")
    assert "layer" in info.value.message
    assert info.value.hint

"""Layer blobs: one pass gives the diff_id, the compressed digest and size; output is reproducible."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import zstandard

from dockyard.oci.layer import Compression, LayerOptions, make_layer, sniff


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "dir").mkdir(parents=True)
    (root / "dir" / "random").write_bytes(os.urandom(3 << 20))
    (root / "dir" / "zeros").write_bytes(bytes(5 << 20))
    (root / "small").write_text("small\n")
    return root


def _decompress(path: Path) -> bytes:
    data = path.read_bytes()
    kind = sniff(data[:4])
    if kind is Compression.GZIP:
        return gzip.decompress(data)
    if kind is Compression.ZSTD:
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


@pytest.mark.parametrize("compression", list(Compression))
def test_digests_and_sizes_describe_the_blob(tree: Path, tmp_path: Path, compression: Compression) -> None:
    out = tmp_path / "blobs"
    out.mkdir()
    blob = make_layer(tree, out, options=LayerOptions(compression=compression))
    raw = blob.path.read_bytes()
    assert blob.path.parent == out
    assert blob.size == len(raw)
    assert blob.digest.hex == hashlib.sha256(raw).hexdigest()
    tar = _decompress(blob.path)
    assert blob.diff_id.hex == hashlib.sha256(tar).hexdigest()
    assert blob.uncompressed_size == len(tar)
    assert blob.media_type == compression.media_type
    if compression is Compression.NONE:
        assert blob.digest == blob.diff_id
    else:
        assert blob.size < blob.uncompressed_size
    listing = subprocess.run(["tar", "-tf", "-"], input=tar, capture_output=True, check=True).stdout.decode()
    assert listing.split() == ["dir/", "dir/random", "dir/zeros", "small"]


@pytest.mark.parametrize("compression", [Compression.GZIP, Compression.ZSTD])
def test_thread_count_does_not_change_the_digest(tree: Path, tmp_path: Path, compression: Compression) -> None:
    digests = set()
    for threads in (1, 2, 3):
        blob = make_layer(tree, tmp_path, options=LayerOptions(compression=compression, threads=threads))
        digests.add(blob.digest)
    assert len(digests) == 1


def test_level_changes_the_output(tree: Path, tmp_path: Path) -> None:
    fast = make_layer(tree, tmp_path, options=LayerOptions(compression=Compression.GZIP, level=0))
    best = make_layer(tree, tmp_path, options=LayerOptions(compression=Compression.GZIP, level=3))
    assert fast.diff_id == best.diff_id
    assert fast.digest != best.digest


def test_failure_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "blobs"
    out.mkdir()
    with pytest.raises(FileNotFoundError):
        make_layer(tmp_path / "missing", out)
    assert list(out.iterdir()) == []


def test_sniff_recognises_magic() -> None:
    assert sniff(b"\x1f\x8b\x08\x00") is Compression.GZIP
    assert sniff(b"\x28\xb5\x2f\xfd") is Compression.ZSTD
    assert sniff(b"bin/") is Compression.NONE

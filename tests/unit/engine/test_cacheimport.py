"""ImportedCache: first source wins, blobs are fetched only when missing, lazily for exports."""

from __future__ import annotations

from pathlib import Path

from dockyard.digest import Digest
from dockyard.engine.cacheimport import ImportedCache
from dockyard.engine.cachemanifest import ChainRecord
from dockyard.oci import mediatypes
from dockyard.store.cache import LayerRecord
from dockyard.store.content import ContentStore


class _Origin:
    """A fake origin holding blobs in memory and counting what it was asked for."""

    def __init__(self, blobs: dict[Digest, bytes]) -> None:
        self.blobs = blobs
        self.fetched: list[Digest] = []

    def fetch(self, layer: LayerRecord, content: ContentStore) -> None:
        self.fetched.append(layer.digest)
        content.ingest_bytes(self.blobs[layer.digest], expected=layer.digest)


def _layer(data: bytes) -> LayerRecord:
    return LayerRecord(digest=Digest.of_bytes(data), diff_id=Digest.of_bytes(data + b"!"), size=len(data),
                       media_type=mediatypes.OCI_LAYER_GZIP)


A, B, C = b"layer a", b"layer b", b"layer c"
LA, LB, LC = _layer(A), _layer(B), _layer(C)


def test_first_source_wins_and_only_missing_blobs_are_fetched(tmp_path: Path) -> None:
    content = ContentStore(tmp_path / "content")
    first, second = _Origin({LA.digest: A, LB.digest: B}), _Origin({LA.digest: A, LC.digest: C})
    imported = ImportedCache()
    imported.add([ChainRecord(key="k", layers=(LA, LB))], (), first)
    imported.add([ChainRecord(key="k", layers=(LA, LC)), ChainRecord(key="j", layers=(LA, LC))], (), second)
    assert imported.lookup("k") == (LA, LB) and imported.lookup("j") == (LA, LC) and imported.lookup("x") is None
    content.ingest_bytes(A)
    imported.fetch([LA, LB, LB], content)
    assert first.fetched == [LB.digest] and second.fetched == []
    imported.fetch([LA, LC], content)
    assert second.fetched == [LC.digest]  # blob A is attributed to the first source naming it, and present


def test_lazy_source_fetches_on_first_read_only(tmp_path: Path) -> None:
    content = ContentStore(tmp_path / "content")
    origin = _Origin({LA.digest: A})
    imported = ImportedCache()
    imported.add([ChainRecord(key="k", layers=(LA,))], (), origin)
    source = imported.source(content)
    assert origin.fetched == []
    for _ in range(2):
        with source.open(LA.digest) as blob:
            assert blob.read() == A
    assert origin.fetched == [LA.digest]

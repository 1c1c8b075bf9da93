"""type=oci: every blob copied, names as index.json annotations, a deterministic tar."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from dockyard.digest import Digest
from dockyard.exporters import export
from dockyard.exporters.oci_layout import IMAGE_NAME, blobs_of
from dockyard.exporters.output import OciOutput
from dockyard.oci.descriptor import REF_NAME, Descriptor
from dockyard.store.content import ContentStore
from dockyard.store.layout import OciLayout
from tests.unit.exporters import imagefactory


def _index(tmp_path: Path) -> tuple[ContentStore, Descriptor]:
    store = ContentStore(tmp_path / "store")
    shared = imagefactory.tree(tmp_path / "shared", {"etc/motd": "hi"})
    entries = [imagefactory.image(store, [shared, imagefactory.tree(tmp_path / p.replace("/", "_"), {"arch": p})],
                                  platform=p) for p in ("linux/amd64", "linux/arm64")]
    return store, imagefactory.index(store, entries)


def test_blobs_of_an_index_are_deduplicated(tmp_path: Path) -> None:
    store, top = _index(tmp_path)
    blobs = blobs_of(store, top)
    # index + 2 manifests + 2 configs + shared layer once + 2 own layers
    assert len(blobs) == 8
    assert next(iter(blobs)) == top.digest


def test_directory_layout_with_tags(tmp_path: Path) -> None:
    store, top = _index(tmp_path)
    dest = tmp_path / "layout"
    export(OciOutput(dest=dest, tar=False, names=("127.0.0.1:5000/app:1",)), store, top, names=("app:2",))
    layout = OciLayout.open(dest)
    entries = layout.index().manifests
    assert [e.ref_name for e in entries] == ["1", "2"]
    assert entries[0].annotations[IMAGE_NAME] == "127.0.0.1:5000/app:1"
    assert entries[1].annotations[IMAGE_NAME] == "docker.io/library/app:2"
    assert {e.digest for e in entries} == {top.digest}
    for digest in blobs_of(store, top):
        assert layout.store.read_bytes(digest) == store.read_bytes(digest)


def test_existing_layout_keeps_other_images_and_moves_a_tag(tmp_path: Path) -> None:
    store, top = _index(tmp_path)
    other = imagefactory.image(store, [imagefactory.tree(tmp_path / "o", {"o": "o"})])
    dest = tmp_path / "layout"
    export(OciOutput(dest=dest, tar=False, names=("app:keep", "app:moved")), store, other)
    export(OciOutput(dest=dest, tar=False, names=("app:moved",)), store, top)
    tags = {e.ref_name: e.digest for e in OciLayout.open(dest).index().manifests}
    assert tags == {"keep": other.digest, "moved": top.digest}


def test_untagged_layout_has_one_bare_entry(tmp_path: Path) -> None:
    store, top = _index(tmp_path)
    export(OciOutput(dest=tmp_path / "l", tar=False), store, top)
    entries = OciLayout.open(tmp_path / "l").index().manifests
    assert len(entries) == 1 and entries[0].annotations == {} and entries[0].digest == top.digest


def test_tar_is_sorted_deterministic_and_complete(tmp_path: Path) -> None:
    store, top = _index(tmp_path)
    export(OciOutput(dest=tmp_path / "a.tar", names=("app:1",)), store, top)
    export(OciOutput(dest=tmp_path / "b.tar", names=("app:1",)), store, top)
    data = (tmp_path / "a.tar").read_bytes()
    assert data == (tmp_path / "b.tar").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert names[:2] == ["blobs", "blobs/sha256"]
        assert {m.mtime for m in tar.getmembers()} == {0}
        index = json.loads(tar.extractfile("index.json").read())  # type: ignore[union-attr]
        assert json.loads(tar.extractfile("oci-layout").read()) == {"imageLayoutVersion": "1.0.0"}  # type: ignore[union-attr]
        for name in names:
            if name.startswith("blobs/sha256/"):
                blob = tar.extractfile(name).read()  # type: ignore[union-attr]
                assert str(Digest.of_bytes(blob)) == "sha256:" + name.rsplit("/", 1)[1]
    assert index["manifests"][0]["digest"] == str(top.digest)
    assert index["manifests"][0]["annotations"][REF_NAME] == "1"
    assert len([n for n in names if n.startswith("blobs/sha256/")]) == 8


def test_same_tag_in_two_repositories_gives_two_entries(tmp_path: Path) -> None:
    store, top = _index(tmp_path)
    dest = tmp_path / "layout"
    export(OciOutput(dest=dest, tar=False, names=("r1.io/app:1", "r2.io/app:1", "r1.io/app:1")), store, top)
    entries = OciLayout.open(dest).index().manifests
    assert [(e.ref_name, e.annotations[IMAGE_NAME]) for e in entries] == [("1", "r1.io/app:1"), ("1", "r2.io/app:1")]
    export(OciOutput(dest=dest, tar=False), store, top)  # the untagged export adds no duplicate of a bare entry
    export(OciOutput(dest=dest, tar=False), store, top)
    assert len(OciLayout.open(dest).index().manifests) == 3

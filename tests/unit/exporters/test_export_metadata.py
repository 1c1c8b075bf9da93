"""--metadata-file and --iidfile: buildx's keys, the image ID rule, atomic replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dockyard.errors import UsageError
from dockyard.exporters.metadata import describe, discard_stale, metadata, write_iidfile, write_metadata_file
from dockyard.oci.manifest import Manifest
from dockyard.store.content import ContentStore
from tests.unit.exporters import imagefactory


def test_single_platform_metadata_and_iid_is_config_digest(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = imagefactory.image(store, [imagefactory.tree(tmp_path / "l", {"a": "1"})])
    config = Manifest.from_bytes(store.read_bytes(desc.digest)).config.digest
    result = describe(store, desc, names=["r.io/a:1", "r.io/a:2"])
    doc = metadata(result)
    assert doc["containerimage.digest"] == str(desc.digest)
    assert doc["containerimage.config.digest"] == str(config)
    assert doc["containerimage.descriptor"] == {"mediaType": desc.media_type, "digest": str(desc.digest),
                                                "size": desc.size}
    assert doc["image.name"] == "r.io/a:1,r.io/a:2"
    iid = tmp_path / "iid"
    write_iidfile(iid, result)
    assert iid.read_text() == str(config)


def test_index_metadata_has_index_digest_and_no_config(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    layer = imagefactory.tree(tmp_path / "l", {"a": "1"})
    top = imagefactory.index(store, [imagefactory.image(store, [layer], platform=p)
                                     for p in ("linux/amd64", "linux/arm64")])
    result = describe(store, top)
    doc = metadata(result)
    assert doc["containerimage.digest"] == str(top.digest)
    assert "containerimage.config.digest" not in doc
    assert "image.name" not in doc
    path = tmp_path / "meta" / "m.json"
    with pytest.raises(UsageError, match="does not exist"):  # parents are not created, as buildx does not
        write_metadata_file(path, result, extra={"buildx.build.ref": "dockyard/local/x"})
    assert not path.parent.exists()
    path.parent.mkdir()
    write_metadata_file(path, result, extra={"buildx.build.ref": "dockyard/local/x"})
    written = json.loads(path.read_text())
    assert written["buildx.build.ref"] == "dockyard/local/x"
    assert written["containerimage.descriptor"]["mediaType"] == "application/vnd.oci.image.index.v1+json"
    iid = tmp_path / "iid"
    write_iidfile(iid, result)
    assert iid.read_text() == str(top.digest)


def test_files_are_replaced_without_leftovers_and_stale_ones_discarded(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = imagefactory.image(store, [imagefactory.tree(tmp_path / "l", {"a": "1"})])
    out = tmp_path / "out"
    out.mkdir()
    iid = out / "iid"
    iid.write_text("old")
    write_iidfile(iid, describe(store, desc))
    assert iid.read_text().startswith("sha256:")
    assert sorted(p.name for p in out.iterdir()) == ["iid"]
    discard_stale(iid)
    assert not iid.exists()
    discard_stale(iid)  # absent is fine
    discard_stale(None)

"""type=docker: a docker save archive of one platform, layers uncompressed and matching diff_ids."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import StoreError, UsageError
from dockyard.exporters import export
from dockyard.exporters.docker_tar import familiar
from dockyard.exporters.output import DockerOutput
from dockyard.oci import canonical, mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.layer import Compression
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.store.content import ContentStore
from tests.unit.exporters import imagefactory


@pytest.mark.parametrize(("name", "shown"), [("busybox", ("busybox", "latest")),
                                             ("docker.io/user/app:1", ("user/app", "1")),
                                             ("127.0.0.1:5000/a/b:v2", ("127.0.0.1:5000/a/b", "v2"))])
def test_familiar_names(name: str, shown: tuple[str, str]) -> None:
    assert familiar(Reference.parse(name)) == shown


@pytest.mark.parametrize("compression", list(Compression))
def test_archive_layout(tmp_path: Path, compression: Compression) -> None:
    store = ContentStore(tmp_path / "store")
    layers = [imagefactory.tree(tmp_path / "l1", {"a": "1"}), imagefactory.tree(tmp_path / "l2", {"b": "2"})]
    desc = imagefactory.image(store, layers, compression=compression)
    manifest = Manifest.from_bytes(store.read_bytes(desc.digest))
    config = ImageConfig.from_bytes(store.read_bytes(manifest.config.digest))
    out = tmp_path / "img.tar"
    export(DockerOutput(dest=out, names=("app:1", "127.0.0.1:5000/app:1")), store, desc)
    with tarfile.open(out) as tar:
        doc = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        assert doc == [{"Config": f"{manifest.config.digest.hex}.json",
                        "RepoTags": ["app:1", "127.0.0.1:5000/app:1"],
                        "Layers": [f"{d.hex}/layer.tar" for d in config.diff_ids]}]
        assert tar.extractfile(doc[0]["Config"]).read() == store.read_bytes(manifest.config.digest)  # type: ignore[union-attr]
        for path, diff_id in zip(doc[0]["Layers"], config.diff_ids, strict=True):
            data = tar.extractfile(path).read()  # type: ignore[union-attr]
            assert "sha256:" + hashlib.sha256(data).hexdigest() == str(diff_id)
            with tarfile.open(fileobj=io.BytesIO(data)) as layer_tar:
                assert layer_tar.getnames()
        repos = json.loads(tar.extractfile("repositories").read())  # type: ignore[union-attr]
        assert repos == {"app": {"1": config.diff_ids[-1].hex}, "127.0.0.1:5000/app": {"1": config.diff_ids[-1].hex}}
        assert {m.mtime for m in tar.getmembers()} == {0}
    first = out.read_bytes()
    export(DockerOutput(dest=out, names=("app:1", "127.0.0.1:5000/app:1")), store, desc)
    assert out.read_bytes() == first


def test_index_exports_the_host_platform_or_explains(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    layer = imagefactory.tree(tmp_path / "l", {"a": "1"})
    entries = [imagefactory.image(store, [layer], platform=p) for p in ("linux/amd64", "linux/arm64")]
    top = imagefactory.index(store, entries)
    out = tmp_path / "img.tar"
    export(DockerOutput(dest=out), store, top, platform_host=Platform.parse("linux/arm64"))
    arm_config = Manifest.from_bytes(store.read_bytes(entries[1].digest)).config.digest
    with tarfile.open(out) as tar:
        doc = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert doc[0]["Config"] == f"{arm_config.hex}.json" and doc[0]["RepoTags"] == []
    with pytest.raises(UsageError, match="holds one platform"):
        export(DockerOutput(dest=tmp_path / "x.tar"), store, top, platform_host=Platform.parse("linux/riscv64"))
    assert not (tmp_path / "x.tar").exists()


def test_corrupt_layer_is_detected_and_nothing_is_left(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = imagefactory.image(store, [imagefactory.tree(tmp_path / "l", {"a": "1"})])
    manifest = Manifest.from_bytes(store.read_bytes(desc.digest))
    config = ImageConfig.from_bytes(store.read_bytes(manifest.config.digest))
    bad = config.to_json()
    bad["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    config_bytes = canonical.encode(bad)
    store.ingest_bytes(config_bytes)
    forged = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config_bytes), layers=manifest.layers)
    store.ingest_bytes(forged.to_bytes())
    with pytest.raises(StoreError, match="diff_id"):
        export(DockerOutput(dest=tmp_path / "x.tar"), store, forged.descriptor())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l", "store"]

"""The OCI model writes documents the OCI schemas accept, with stable bytes, and reads them back."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dockyard.digest import Digest
from dockyard.oci import mediatypes
from dockyard.oci.canonical import InvalidDocumentError
from dockyard.oci.config import ContainerConfig, Healthcheck, History, ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.content import ContentStore
from dockyard.store.layout import OciLayout
from tests.unit.registry.ocischema import validate

LAYER = Descriptor(mediatypes.OCI_LAYER_GZIP, Digest.of_bytes(b"layer"), 5)


def _config() -> ImageConfig:
    return ImageConfig.for_platform(
        Platform.parse("linux/arm64"),
        created="2023-11-14T22:13:20Z",
        config=ContainerConfig(env=("PATH=/bin",), cmd=("sh",), labels={"a": "b"}, exposed_ports=("80/tcp",),
                               healthcheck=Healthcheck(test=("NONE",)), extra={"ArgsEscaped": True}),
        diff_ids=(Digest.of_bytes(b"tar"),),
        history=(History(created="2023-11-14T22:13:20Z", created_by="import"),),
    )


def _manifest() -> Manifest:
    config = _config().to_bytes()
    return Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config), layers=(LAYER,),
                    annotations={"org.opencontainers.image.title": "t"})


def test_config_validates_and_round_trips() -> None:
    data = _config().to_bytes()
    validate("config-schema.json", data)
    again = ImageConfig.from_bytes(data)
    assert again.to_bytes() == data
    assert again.platform == Platform("linux", "arm64", "")  # containerd normalizeArch: no v8
    assert again.config.healthcheck == Healthcheck(test=("NONE",))
    assert again.config.extra == {"ArgsEscaped": True}  # another tool's field is kept as it was


def test_config_keeps_unknown_fields_of_other_tools() -> None:
    doc = json.loads(_config().to_bytes())
    doc["container"] = "abc"
    data = json.dumps(doc, separators=(",", ":")).encode()
    assert json.loads(ImageConfig.from_bytes(data).to_bytes())["container"] == "abc"


def test_manifest_validates_and_has_stable_bytes() -> None:
    data = _manifest().to_bytes()
    validate("image-manifest-schema.json", data)
    assert data.startswith(b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":')
    assert b" " not in data
    assert Manifest.from_bytes(data).to_bytes() == data


def test_index_validates_and_selects_platforms() -> None:
    amd = _manifest().descriptor(platform=Platform.parse("linux/amd64"))
    arm = Descriptor(mediatypes.OCI_MANIFEST, Digest.of_bytes(b"arm"), 3, Platform("linux", "arm64", ""))
    att = Descriptor(mediatypes.OCI_MANIFEST, Digest.of_bytes(b"att"), 3, Platform("unknown", "unknown"),
                     {"vnd.docker.reference.type": "attestation-manifest"})
    index = Index(manifests=(amd, arm, att))
    data = index.to_bytes()
    validate("image-index-schema.json", data)
    again = Index.from_bytes(data)
    assert again.to_bytes() == data
    assert again.select(Platform.parse("linux/arm64")) == arm  # entry without variant satisfies v8
    assert again.select(Platform.parse("amd64")) == amd
    assert again.platforms() == [Platform("linux", "amd64"), Platform("linux", "arm64")]
    with pytest.raises(Exception, match="no image for platform linux/s390x"):
        again.select(Platform.parse("linux/s390x"))


def test_schema_check_catches_a_bad_document() -> None:
    bad = json.loads(_manifest().to_bytes())
    bad["config"]["digest"] = "not a digest"
    with pytest.raises(jsonschema.ValidationError):
        validate("image-manifest-schema.json", json.dumps(bad).encode())


@pytest.mark.parametrize("data", [b"[]", b"{", b'{"schemaVersion":2,"mediaType":"text/plain"}',
                                  b'{"schemaVersion":1,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'])
def test_invalid_manifests_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidDocumentError):
        Manifest.from_bytes(data)


def test_docker_manifest_list_is_read_as_an_index() -> None:
    doc = {"schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST_LIST,
           "manifests": [{"mediaType": mediatypes.DOCKER_MANIFEST, "digest": str(Digest.of_bytes(b"x")), "size": 1,
                          "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}}]}
    index = Index.from_bytes(json.dumps(doc).encode())
    assert index.media_type == mediatypes.DOCKER_MANIFEST_LIST
    assert index.select(Platform.parse("armhf")).size == 1


def test_layout_is_valid_and_tags_replace(tmp_path: Path) -> None:
    layout = OciLayout.create(tmp_path / "oci")
    validate("image-layout-schema.json", (tmp_path / "oci" / "oci-layout").read_bytes())
    data = _manifest().to_bytes()
    blob = layout.store.ingest_bytes(data)
    desc = Descriptor(mediatypes.OCI_MANIFEST, blob.digest, blob.size)
    layout.add(desc, tag="v1")
    layout.add(desc, tag="v2")
    layout.add(desc.with_platform(Platform.parse("amd64")), tag="v1")
    validate("image-index-schema.json", (tmp_path / "oci" / "index.json").read_bytes())
    reopened = OciLayout.open(tmp_path / "oci")
    assert [e.ref_name for e in reopened.index().manifests] == ["v2", "v1"]
    assert reopened.resolve("v1").platform == Platform("linux", "amd64")
    assert isinstance(reopened.store, ContentStore)
    assert reopened.store.read_bytes(desc.digest) == data
    with pytest.raises(Exception, match="no image tagged 'v3'"):
        reopened.resolve("v3")


def test_open_refuses_a_directory_that_is_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not an OCI image layout"):
        OciLayout.open(tmp_path)

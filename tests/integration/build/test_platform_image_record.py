"""One record for one platform's image (``oci.image.PlatformImage``), whoever made it.

A build returns each platform's image; an exporter reads the same images back from the store
(``platform_images``); a pull of the pushed index gives them again, from the registry, with the
index it chose from and without the layers (what planning reads). The three must agree field for
field, and skopeo (not our reader) must see the same config bytes the record was parsed from.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from dockyard.oci.config import Healthcheck, ImageConfig
from dockyard.oci.image import platform_images
from dockyard.phases.build import build
from dockyard.phases.request import BuildOptions
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

PLATFORMS = (Platform.parse("linux/amd64"), Platform.parse("linux/arm64"))


def test_build_export_and_pull_describe_an_image_by_the_same_record(
        busybox_base: str, registry: TestRegistry, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nCOPY a.txt /a.txt\nENV X=1\n"
                                    "HEALTHCHECK --interval=5s CMD true\nSHELL [\"/bin/sh\", \"-ec\"]\n")
    options = BuildOptions(context=ctx, platforms=PLATFORMS, root=tmp_path / "root", source_date_epoch=1_700_000_000)
    ref = Reference.parse(f"{registry.address}/record/app:1")
    with Client() as client:
        result = build(options, client=client)
        client.push(ref, result.descriptor, result.content)
        pulled_store = ContentStore(tmp_path / "pulled")
        pulled = {p: client.pull(ref, platform=p, store=pulled_store, layers=False) for p in PLATFORMS}

    assert list(result.images) == list(PLATFORMS)
    exported = {image.platform: image for image in platform_images(result.content, result.descriptor)}
    for platform, built in result.images.items():
        assert built.platform == platform and built.index is None  # a build's index is result.descriptor
        for other in (exported[platform], pulled[platform]):
            assert (other.descriptor.digest, other.manifest, other.config) == \
                (built.descriptor.digest, built.manifest, built.config)
            assert other.index is not None and other.index.digest == result.descriptor.digest
        config = built.config.config
        assert "X=1" in config.env and config.shell == ("/bin/sh", "-ec")
        assert config.healthcheck == Healthcheck(test=("CMD-SHELL", "true"), interval=5_000_000_000)
        assert len(built.config.diff_ids) == len(built.layers) >= 2  # the base's layer and COPY's
        # planning's pull: manifest and config only
        assert not any(pulled_store.has(layer.digest) for layer in pulled[platform].layers)
        raw = subprocess.run(["skopeo", "inspect", "--config", "--raw", "--tls-verify=false",
                              f"--override-arch={platform.architecture}", f"docker://{ref}"],
                             check=True, capture_output=True).stdout
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == str(built.manifest.config.digest)
        assert ImageConfig.from_bytes(raw) == built.config

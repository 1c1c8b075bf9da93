"""Per-platform directory names and the docker archive's choice of one platform."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import UsageError
from dockyard.exporters.platforms import choose_host, dirname
from dockyard.oci.image import platform_images
from dockyard.platform import Platform
from dockyard.store.content import ContentStore
from tests.unit.exporters import imagefactory


@pytest.mark.parametrize(("text", "name"), [("linux/amd64", "linux_amd64"), ("linux/arm64", "linux_arm64"),
                                            ("linux/arm/v7", "linux_arm_v7"), ("linux/amd64/v3", "linux_amd64_v3"),
                                            ("linux/arm/v6", "linux_arm_v6")])
def test_dirnames_like_buildx(text: str, name: str) -> None:
    assert dirname(Platform.parse(text)) == name


def test_choose_host_from_index(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "s")
    layer = imagefactory.tree(tmp_path / "l", {"f": "x"})
    top = imagefactory.index(store, [imagefactory.image(store, [layer], platform=p)
                                     for p in ("linux/amd64", "linux/arm64")])
    images = platform_images(store, top)
    assert [str(i.platform) for i in images] == ["linux/amd64", "linux/arm64"]
    assert choose_host(images, Platform.parse("linux/arm64")).platform.architecture == "arm64"
    assert choose_host(images, Platform.parse("linux/amd64")).platform.architecture == "amd64"
    with pytest.raises(UsageError) as info:
        choose_host(images, Platform.parse("linux/s390x"))
    assert "linux/amd64, linux/arm64" in info.value.message
    assert "type=oci" in (info.value.hint or "")
    # a single image is taken whatever the host
    assert choose_host(images[1:], Platform.parse("linux/s390x")) is images[1]

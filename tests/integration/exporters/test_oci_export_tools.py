"""OCI exports read by skopeo and umoci; the local export equals umoci's unpack of the same image."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockyard.exporters import export
from dockyard.exporters.output import LocalOutput, OciOutput, TarOutput
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import platform_images
from dockyard.store.content import ContentStore
from tests.integration.exporters.toolcheck import run
from tests.rig.registries import TestRegistry
from tests.rig.trees import describe
from tests.unit.exporters import imagefactory

pytestmark = pytest.mark.integration


def test_skopeo_reads_the_layout_dir_for_each_platform(pulled_busybox: tuple[ContentStore, Descriptor],
                                                        tmp_path: Path) -> None:
    store, top = pulled_busybox
    dest = tmp_path / "layout"
    export(OciOutput(dest=dest, tar=False, names=("127.0.0.1:5000/app:1.0",)), store, top)
    for arch in ("amd64", "arm64"):
        info = json.loads(run("skopeo", "inspect", "--override-arch", arch, f"oci:{dest}:1.0"))
        assert info["Digest"] == str(top.digest)
        assert info["Architecture"] == arch
    raw = json.loads(run("skopeo", "inspect", "--raw", f"oci:{dest}:1.0"))
    assert {m["platform"]["architecture"] for m in raw["manifests"]} == {"amd64", "arm64"}


def test_skopeo_copies_the_archive_to_a_registry_digest_intact(pulled_busybox: tuple[ContentStore, Descriptor],
                                                                registry: TestRegistry, tmp_path: Path) -> None:
    store, top = pulled_busybox
    archive = tmp_path / "image.tar"
    export(OciOutput(dest=archive, names=("app:v1",)), store, top)
    listing = run("tar", "-tvf", str(archive)).splitlines()
    assert all("0/0" in line and "1970-01-01" in line for line in listing)
    target = f"{registry.address}/exported:v1"
    run("skopeo", "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
        f"oci-archive:{archive}:v1", f"docker://{target}")
    pushed = run("skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{target}").encode()
    assert pushed == store.read_bytes(top.digest)


def _owned_image(tmp_path: Path, store: ContentStore) -> Descriptor:
    base = imagefactory.tree(tmp_path / "base", {"etc/app.conf": "a=1", "srv/data/old": "old", "tmp/x": "x",
                                                 "usr/bin/tool": "#!/bin/sh\n"})
    os.chown(base / "srv" / "data", 1000, 1000)
    os.chown(base / "srv" / "data" / "old", 1000, 1001)
    os.chmod(base / "usr" / "bin" / "tool", 0o4755)
    os.chmod(base / "tmp", 0o1777)
    os.symlink("../etc/app.conf", base / "srv" / "conf")
    os.link(base / "etc" / "app.conf", base / "etc" / "hard.conf")
    top = imagefactory.tree(tmp_path / "top", {"srv/data/.wh..wh..opq": "", "srv/data/new": "new",
                                               "tmp/.wh.x": ""})
    os.chown(top / "srv" / "data" / "new", 33, 33)
    os.chown(top / "srv" / "data", 2000, 2000)  # the upper layer's directory metadata wins
    return imagefactory.image(store, [base, top])


def test_local_export_equals_umoci_unpack(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _owned_image(tmp_path, store)
    layout = tmp_path / "layout"
    export(OciOutput(dest=layout, tar=False, names=("app:1",)), store, desc)
    run("umoci", "unpack", "--image", f"{layout}:1", str(tmp_path / "bundle"))
    ours = tmp_path / "ours"
    export(LocalOutput(dest=ours), store, desc)
    theirs = describe(tmp_path / "bundle" / "rootfs")
    mine = describe(ours)
    assert mine == theirs
    assert mine["srv/data/new"][2:4] == (33, 33)
    assert mine["srv/data"][2:4] == (2000, 2000)
    assert mine["usr/bin/tool"][1] == 0o4755
    assert "srv/data/old" not in mine and "tmp/x" not in mine
    assert os.stat(ours / "etc" / "app.conf").st_ino == os.stat(ours / "etc" / "hard.conf").st_ino


def test_rootfs_tar_lists_what_umoci_unpacks(tmp_path: Path) -> None:
    store = ContentStore(tmp_path / "store")
    desc = _owned_image(tmp_path, store)
    export(TarOutput(dest=tmp_path / "rootfs.tar"), store, desc)
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    run("tar", "-xpf", str(tmp_path / "rootfs.tar"), "-C", str(extracted), "--numeric-owner")
    layout = tmp_path / "layout"
    export(OciOutput(dest=layout, tar=False, names=("app:1",)), store, desc)
    run("umoci", "unpack", "--image", f"{layout}:1", str(tmp_path / "bundle"))
    assert describe(extracted) == describe(tmp_path / "bundle" / "rootfs")


def test_each_platform_directory_equals_umoci_unpack(pulled_busybox: tuple[ContentStore, Descriptor],
                                                     tmp_path: Path) -> None:
    store, top = pulled_busybox
    ours = tmp_path / "ours"
    export(LocalOutput(dest=ours), store, top)
    assert sorted(p.name for p in ours.iterdir()) == ["linux_amd64", "linux_arm64"]
    for image in platform_images(store, top):
        arch = image.platform.architecture
        layout = tmp_path / f"layout-{arch}"
        export(OciOutput(dest=layout, tar=False, names=("busybox:1",)), store, image.descriptor)
        run("umoci", "unpack", "--image", f"{layout}:1", str(tmp_path / f"bundle-{arch}"))
        assert describe(ours / f"linux_{arch}") == describe(tmp_path / f"bundle-{arch}" / "rootfs")

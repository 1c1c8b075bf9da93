"""Our layers read by an independent tool: umoci unpacks an OCI layout built from our blobs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dockyard.oci.layer import Compression, LayerBlob, LayerOptions, make_layer
from dockyard.oci.unpack import Whiteouts, apply_layer
from dockyard.store.snapshots import Snapshotter
from tests.rig.trees import describe

pytestmark = pytest.mark.integration


def _put(blobs: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layout(layout: Path, layers: list[LayerBlob]) -> None:
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    for blob in layers:
        shutil.copy(blob.path, blobs / blob.digest.hex)
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [str(b.diff_id) for b in layers]}}
    config_desc = _put(blobs, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
                "layers": [{"mediaType": b.media_type, "digest": str(b.digest), "size": b.size} for b in layers]}
    manifest_desc = _put(blobs, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                **manifest_desc,
                                                "annotations": {"org.opencontainers.image.ref.name": "test"}}]}
    (layout / "index.json").write_text(json.dumps(index))


def test_umoci_unpacks_our_layers_with_whiteouts(tmp_path: Path, busybox_rootfs: dict[str, Path]) -> None:
    # umoci 0.4.7 (Debian 12) reads gzip layers only; zstd is checked with the zstd tool below
    compression = Compression.GZIP
    snaps = Snapshotter(tmp_path / "snapshots")
    with snaps.prepare(None) as active:
        apply_layer(busybox_rootfs["amd64"], active.upper, whiteouts=Whiteouts.OVERLAY)
        base = active.commit()
    with snaps.prepare(base.id) as active:
        root = active.mount()
        (root / "etc" / "passwd").unlink()
        shutil.rmtree(root / "usr")
        (root / "usr" / "local").mkdir(parents=True)
        (root / "usr" / "local" / "tool").write_text("#!/bin/sh\n")
        os.chmod(root / "usr" / "local" / "tool", 0o755)
        os.setxattr(root / "usr" / "local" / "tool", "user.origin", b"dockyard")
        os.chown(root / "usr" / "local", 1000, 1000)
        expected = describe(root)
        top = active.commit()
    options = LayerOptions(compression=compression)
    layers = [make_layer(base.diff, tmp_path, options=options), make_layer(top.diff, tmp_path, options=options)]
    layout = tmp_path / "layout"
    _layout(layout, layers)
    bundle = tmp_path / "bundle"
    proc = subprocess.run(["umoci", "unpack", "--image", f"{layout}:test", str(bundle)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    unpacked = describe(bundle / "rootfs")
    assert not (bundle / "rootfs" / "etc" / "passwd").exists()
    assert sorted(os.listdir(bundle / "rootfs" / "usr")) == ["local"]
    assert unpacked == expected
    snaps.close()


def test_zstd_and_gzip_tools_read_our_blobs(tmp_path: Path, busybox_rootfs: dict[str, Path]) -> None:
    source = tmp_path / "source"
    source.mkdir()
    subprocess.run(["tar", "-xf", str(busybox_rootfs["arm64"]), "-C", str(source)], check=True)
    for compression, tool in ((Compression.ZSTD, "zstd"), (Compression.GZIP, "gzip")):
        blob = make_layer(source, tmp_path, options=LayerOptions(compression=compression))
        tar = subprocess.run([tool, "-dc", str(blob.path)], capture_output=True, check=True).stdout
        assert hashlib.sha256(tar).hexdigest() == blob.diff_id.hex
        out = tmp_path / f"out-{tool}"
        out.mkdir()
        subprocess.run(["tar", "--xattrs", "-xpf", "-", "-C", str(out)], input=tar, check=True)
        assert describe(out) == describe(source)

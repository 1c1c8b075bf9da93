"""Image exporter options that used to be parsed and dropped, each now honoured as BuildKit does or refused.

- ``annotation*.KEY=V``: exporter/containerimage/exptypes/annotations.go ``ParseAnnotationKey`` and
  the image writer (manifest, manifest-descriptor, index; index ones refused for one platform).
- ``force-compression``: the writer converts base layers too (``exportLayers`` with ``Force``).
- ``registry.insecure``: BuildKit pushes over HTTPS without verification (or HTTP).
- ``rewrite-timestamp``: dockyard always rewrites its own layers' times under SOURCE_DATE_EPOCH,
  so ``=false`` with an epoch is refused (see api/build.py ``_check_rewrite_timestamp``).
Checked with skopeo, never with dockyard's own reader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.executor import qemu
from tests.integration.build.buildrig import inspect_raw
from tests.integration.tlsserver import PKI, TLSServer
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _context(root: Path, base: str) -> Path:
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text(f"FROM {base}\nRUN echo hi > /hi\n")
    return root


def _dockyard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, check=False)


def test_annotations_and_force_compression_reach_the_registry(
    busybox_base: str, registry: TestRegistry, binfmt_arm64: qemu.Emulator, tmp_path: Path
) -> None:
    ctx = _context(tmp_path / "ctx", busybox_base)
    repo = f"{registry.address}/options/annotated"
    ref = f"{repo}:1"
    out = _dockyard("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "-o",
                    f"type=image,name={ref},push=true,compression=zstd,force-compression=true,"
                    "annotation.org.opencontainers.image.title=Demo,annotation-index.idx=top,"
                    "annotation-manifest[linux/arm64].only.arm=yes,annotation-manifest-descriptor.desc=d",
                    str(ctx))
    assert out.returncode == 0, out.stderr
    index = inspect_raw(ref)
    assert index["annotations"] == {"idx": "top"}
    for entry in index["manifests"]:
        assert entry["annotations"] == {"desc": "d"}
        manifest = json.loads(subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{repo}@{entry['digest']}"],
            check=True, capture_output=True, text=True).stdout)
        want = {"org.opencontainers.image.title": "Demo"}
        if entry["platform"]["architecture"] == "arm64":
            want["only.arm"] = "yes"
        assert manifest["annotations"] == want
        # the base layer (gzip in the registry) was converted too
        assert {layer["mediaType"] for layer in manifest["layers"]} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    copied = tmp_path / "copied"
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--override-arch", "arm64",
                    f"docker://{ref}", f"dir:{copied}"], check=True, capture_output=True)
    manifest = json.loads((copied / "manifest.json").read_text())
    for layer in manifest["layers"]:
        assert (copied / layer["digest"].split(":")[1]).read_bytes()[:4] == ZSTD_MAGIC


def test_index_annotations_on_a_single_platform_are_refused(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path / "ctx", busybox_base)
    out = _dockyard("build", "-o", f"type=oci,dest={tmp_path / 'o.tar'},annotation-index.k=v", str(ctx))
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "index annotations not supported for single platform export" in out.stderr
    assert not (tmp_path / "o.tar").exists()


def test_rewrite_timestamp_false_with_an_epoch_is_refused(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    out = _dockyard("build", "-o", f"type=oci,dest={tmp_path / 'o.tar'},rewrite-timestamp=false", str(ctx),
                    env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) <= 2, out.stderr
    assert "rewrite-timestamp=false is not supported" in out.stderr


def test_registry_insecure_skips_tls_verification(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    server = TLSServer(PKI(tmp_path / "pki"))  # a CA nobody trusts
    try:
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
        spec = f"type=image,name={server.address}/app:1,push=true"
        strict = _dockyard("build", "-o", spec, str(ctx))
        assert strict.returncode != 0 and "TLS failed" in strict.stderr
        lax = _dockyard("build", "-o", spec + ",registry.insecure=true", str(ctx))
        # the fake registry answers NAME_UNKNOWN to everything: the push gets past TLS and fails there
        assert lax.returncode != 0 and "TLS failed" not in lax.stderr, lax.stderr
        assert "Traceback" not in lax.stderr
    finally:
        server.stop()

"""cache-mounts=true: RUN --mount=type=cache contents travel with the cache (buildkit#1474)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.integration.cache.cachebuild import build

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-value-never-cached"


def _context(tmp_path: Path, base: str) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "token.txt").write_text(SECRET)
    (ctx / "Dockerfile").write_text(
        f"FROM {base}\n"
        "ARG ROUND=1\n"
        "RUN --mount=type=secret,id=token --mount=type=cache,target=/cache,id=appcache "
        "test -s /run/secrets/token && echo round-$ROUND >> /cache/log && cp /cache/log /log\n"
    )
    return ctx


def _blobs(layout: Path) -> list[bytes]:
    out = []
    for blob in (layout / "blobs" / "sha256").iterdir():
        data = blob.read_bytes()
        out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return out


def test_cache_mount_contents_survive_an_empty_root(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    dest = tmp_path / "cache-dir"
    token = ["--secret", f"id=token,src={ctx / 'token.txt'}"]
    build(ctx, tmp_path / "root-1", *token, "--build-arg", "ROUND=1",
          "--cache-to", f"type=local,dest={dest},cache-mounts=true")
    manifest_digest = json.loads((dest / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((dest / "blobs" / "sha256" / manifest_digest.split(":")[1]).read_text())
    mounts = [layer for layer in manifest["layers"] if "dev.dockyard.cache.mount.id" in layer.get("annotations", {})]
    assert [m["annotations"]["dev.dockyard.cache.mount.id"] for m in mounts] == ["appcache"]
    assert all(SECRET.encode() not in blob for blob in _blobs(dest))

    out = tmp_path / "out"
    second = build(ctx, tmp_path / "root-2", *token, "--build-arg", "ROUND=2",
                   "--cache-from", f"type=local,src={dest}", "-o", f"type=local,dest={out}")
    assert len(second.ran_steps()) == 1  # the build-arg forces the step to run again
    assert (out / "log").read_text() == "round-1\nround-2\n"
    assert (tmp_path / "root-2" / "cachemounts").is_dir()


def test_without_cache_mounts_flag_nothing_is_exported(busybox_base: str, tmp_path: Path) -> None:
    ctx = _context(tmp_path, busybox_base)
    dest = tmp_path / "cache-dir"
    build(ctx, tmp_path / "root-1", "--secret", f"id=token,src={ctx / 'token.txt'}",
          "--cache-to", f"type=local,dest={dest}")
    out = tmp_path / "out"
    build(ctx, tmp_path / "root-2", "--secret", f"id=token,src={ctx / 'token.txt'}", "--build-arg", "ROUND=2",
          "--cache-from", f"type=local,src={dest}", "-o", f"type=local,dest={out}")
    assert (out / "log").read_text() == "round-2\n"

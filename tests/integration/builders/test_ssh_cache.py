"""The registry cache across SSH nodes: each node exports its platform's records, the client merges
them into one cache manifest (buildkit#2822), and fresh nodes import it.

BuildKit's exporter (cache/remotecache/export.go, ``contentCacheExporter.Finalize``) writes one
solve's records and tags the ref; when each node of a multi-node builder exports to the same ref,
the last node's tag wins and the other platforms miss the cache (buildkit#2822). Here the nodes
push their parts by digest and only the client tags the merged manifest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dockyard.engine.cachemanifest import MOUNT_ANNOTATION, MOUNT_PLATFORM_ANNOTATION
from tests.integration.build.buildrig import unpack
from tests.integration.builders.conftest import FarmRegistry
from tests.integration.builders.test_ssh_nodes import two_node_builder
from tests.integration.cache.cachebuild import Built, build, skopeo_config, skopeo_raw
from tests.rig.sshnodes import SshFarm

pytestmark = pytest.mark.integration

DOCKERFILE = """FROM {base}
ARG ROUND=1
RUN --mount=type=cache,target=/cache,id=shared echo "$ROUND $(uname -m)" >> /cache/seen && cp /cache/seen /seen
COPY hello.txt /hello.txt
RUN ip -4 addr show > /built-on
"""


def _wipe(farm: SshFarm) -> None:
    """Every node's store and boot record, as on a freshly provisioned machine."""
    for host in farm.hosts:
        for entry in host.root.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _farm_build(ctx: Path, tmp_path: Path, env: dict[str, str], name: str, *args: str) -> Built:
    return build(ctx, tmp_path / f"client-{name}", "--platform", "linux/amd64,linux/arm64", *args,
                 env={**env, "DOCKYARD_BUILDER": "cachefarm"})


def test_cache_from_two_nodes_is_one_manifest_and_seeds_fresh_nodes(
        ssh_farm: Callable[[int], SshFarm], farm_registry_for: Callable[[SshFarm], FarmRegistry],
        tmp_path: Path) -> None:
    farm, reg, env = two_node_builder(ssh_farm, farm_registry_for, "cachefarm")
    amd, arm = farm.hosts
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=reg.base))
    (ctx / "hello.txt").write_text("hello\n")
    image, cache = f"{reg.address}/app:1", f"{reg.address}/app:cache"

    first = _farm_build(ctx, tmp_path, env, "1", "--push", "-t", image,
                        "--cache-to", f"type=registry,ref={cache},mode=max,cache-mounts=true")
    assert {s.split("]")[0] for s in first.ran_steps()} == {"[amd", "[arm"}

    # one cache manifest (not an index of per-node manifests) holding both platforms' chains
    manifest = skopeo_raw(cache)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    config = skopeo_config(cache)
    chains = {tuple(r["chain"]) for r in config["records"]}
    index = skopeo_raw(image)
    for entry in index["manifests"]:
        layers = tuple(layer["digest"] for layer in skopeo_raw(f"{reg.address}/app@{entry['digest']}")["layers"])
        assert layers in chains, f"{entry['platform']['architecture']}'s image chain is not in the cache"
    mounts = {(m["annotations"][MOUNT_ANNOTATION], m["annotations"][MOUNT_PLATFORM_ANNOTATION])
              for m in manifest["layers"] if MOUNT_ANNOTATION in m.get("annotations", {})}
    assert mounts == {("shared", "linux/amd64"), ("shared", "linux/arm64")}

    # the nodes uploaded the layers and their parts; the client only the merged config, and the tag, once
    requests = reg.requests()
    uploads = [who for who, method, path in requests if method == "PUT" and path.startswith("/v2/app/blobs/uploads/")]
    assert set(uploads) == {amd.address, arm.address, farm.registry_address}
    assert uploads.count(farm.registry_address) == 1
    assert [who for who, method, path in requests if method == "PUT" and path == "/v2/app/manifests/cache"] == [
        farm.registry_address]

    # fresh nodes: every step comes from the imported cache, on both platforms, and the image is the same
    _wipe(farm)
    again = _farm_build(ctx, tmp_path, env, "2", "--cache-from", f"type=registry,ref={cache}", "--push",
                        "-t", f"{reg.address}/app:2")
    assert again.ran_steps() == []
    assert {s.split("]")[0] for s in again.cached() if "] RUN " in s} == {"[amd", "[arm"}
    assert again.digest == first.digest

    # fresh nodes again, a changed step: each node restores its own platform's cache mount
    _wipe(farm)
    _farm_build(ctx, tmp_path, env, "3", "--cache-from", f"type=registry,ref={cache}", "--build-arg", "ROUND=2",
                "--push", "-t", f"{reg.address}/app:3")
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, _config = unpack(f"{reg.address}/app:3", arch, tmp_path / "unpacked")
        assert (rootfs / "seen").read_text() == f"1 {machine}\n2 {machine}\n"

    # a local cache directory gets the same merged manifest, its blobs fetched from the nodes
    dest = tmp_path / "cache-dir"
    _farm_build(ctx, tmp_path, env, "4", "--build-arg", "ROUND=2", "--cache-to",
                f"type=local,dest={dest},mode=max,cache-mounts=true")
    entries = json.loads((dest / "index.json").read_text())["manifests"]
    assert len(entries) == 1
    local = json.loads((dest / "blobs" / "sha256" / entries[0]["digest"].split(":")[1]).read_text())
    assert {m["annotations"][MOUNT_PLATFORM_ANNOTATION] for m in local["layers"]
            if MOUNT_ANNOTATION in m.get("annotations", {})} == {"linux/amd64", "linux/arm64"}
    for layer in local["layers"]:
        assert (dest / "blobs" / "sha256" / layer["digest"].split(":")[1]).is_file()

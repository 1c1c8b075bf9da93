"""Push, pull and copy against the real registries (anonymous, Basic, Bearer); skopeo agrees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.oci import mediatypes
from dockyard.oci.index import Index
from dockyard.platform import Platform
from dockyard.registry import Client, Credentials, Keychain
from dockyard.registry.errors import AccessDeniedError, AuthenticationError, NotFoundError
from dockyard.store.content import ContentStore
from tests.integration.registryhelpers import busybox_index, client_for, skopeo_raw
from tests.rig import baseimage
from tests.rig.registries import READONLY_PASSWORD, READONLY_USER, TestRegistry

pytestmark = pytest.mark.integration

KINDS = ["registry", "basic_registry", "token_registry"]


@pytest.mark.parametrize("kind", KINDS)
def test_push_matches_skopeo_and_pulls_back(kind: str, request: pytest.FixtureRequest,
                                            busybox_rootfs: dict[str, Path], tmp_path: Path) -> None:
    reg: TestRegistry = request.getfixturevalue(kind)
    store, desc = busybox_index(busybox_rootfs)
    ref = f"{reg.address}/team/busybox:{kind}"
    with client_for(reg) as client:
        client.push(ref, desc, store, tags=["also"])
        assert skopeo_raw(ref, reg) == store.read_bytes(desc.digest)
        assert skopeo_raw(f"{reg.address}/team/busybox:also", reg) == store.read_bytes(desc.digest)
        image = client.pull(ref, platform=Platform.parse("linux/arm64"), store=ContentStore(tmp_path / "pulled"))
    assert image.config.architecture == "arm64" and image.config.variant is None  # containerd normal form
    assert image.index == desc
    for layer in image.manifest.layers:
        assert (tmp_path / "pulled").joinpath("blobs", "sha256", layer.digest.hex).stat().st_size == layer.size


def test_skopeo_copy_all_of_our_index(registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                      tmp_path: Path) -> None:
    store, desc = busybox_index(busybox_rootfs)
    ref = f"{registry.address}/ours/busybox:v1"
    with client_for(registry) as client:
        client.push(ref, desc, store)
    out = tmp_path / "oci"
    subprocess.run(["skopeo", "copy", "--all", "--quiet", "--src-tls-verify=false", f"docker://{ref}",
                    f"oci:{out}:v1"], check=True, capture_output=True)
    top = Index.from_bytes((out / "index.json").read_bytes()).manifests[0]
    assert top.digest == desc.digest  # skopeo kept our bytes
    for entry in Index.from_bytes((out / "blobs" / "sha256" / desc.digest.hex).read_bytes()).manifests:
        assert (out / "blobs" / "sha256" / entry.digest.hex).is_file()


def test_we_read_what_skopeo_pushed(registry: TestRegistry, tmp_path: Path) -> None:
    layout = tmp_path / "umoci"
    baseimage.build_layout(layout, "latest")  # umoci-made, skopeo-pushed: no dockyard code involved
    ref = f"{registry.address}/skopeo/busybox:latest"
    baseimage.push_layout(layout, "latest", ref)
    with Client() as client:
        top = client.resolve(ref)
        assert top.media_type == mediatypes.OCI_INDEX
        assert top.digest == Digest.of_bytes(skopeo_raw(ref))
        for arch in ("amd64", "arm64"):
            image = client.pull(ref, platform=Platform.parse(arch), store=ContentStore(tmp_path / "store"))
            assert image.config.architecture == arch
            assert image.config.config.cmd == ("sh",)


def test_copy_between_registries_and_within_one(registry: TestRegistry, basic_registry: TestRegistry,
                                                busybox_base: str, tmp_path: Path) -> None:
    dst = f"{basic_registry.address}/copied/busybox:v1"
    with client_for(basic_registry) as client:
        top = client.copy(busybox_base, dst, store=ContentStore(tmp_path / "a"))
        assert skopeo_raw(dst, basic_registry) == skopeo_raw(busybox_base)
        assert top.digest == client.resolve(dst).digest
    events: list[str] = []
    with Client(progress=lambda status, d: events.append(status)) as client:
        client.copy(busybox_base, f"{registry.address}/mirror/busybox:v1", store=ContentStore(tmp_path / "b"))
    assert "mounted" in events and "uploaded" not in events  # same registry: blobs mounted, not re-uploaded
    # only manifests and configs were fetched; no layer went through this machine
    assert all(p.stat().st_size < 100_000 for p in (tmp_path / "b").rglob("*") if p.is_file())


def test_anonymous_push_to_token_registry_asks_for_login(token_registry: TestRegistry,
                                                         busybox_rootfs: dict[str, Path]) -> None:
    store, desc = busybox_index(busybox_rootfs)
    with Client() as client, pytest.raises(AuthenticationError) as info:
        client.push(f"{token_registry.address}/private/app:v1", desc, store)
    assert info.value.hint == f"run: dockyard login {token_registry.address}"


def test_missing_tag_is_not_found(registry: TestRegistry) -> None:
    with Client() as client, pytest.raises(NotFoundError) as info:
        client.resolve(f"{registry.address}/nothing/here:v1")
    assert info.value.code in ("NAME_UNKNOWN", "MANIFEST_UNKNOWN")


def test_anonymous_pull_of_a_public_repository(token_registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                               tmp_path: Path) -> None:
    store, desc = busybox_index(busybox_rootfs)
    ref = f"{token_registry.address}/public/busybox:v1"
    with client_for(token_registry) as client:
        client.push(ref, desc, store)
    with Client() as anonymous:  # no credentials: the token server grants pull on public/*
        image = anonymous.pull(ref, platform=Platform.parse("amd64"), store=ContentStore(tmp_path))
        assert image.index == desc
        assert anonymous.session(token_registry.address).auth.tokens_fetched >= 1


def test_read_only_user_push_is_denied_not_unauthenticated(token_registry: TestRegistry,
                                                           busybox_rootfs: dict[str, Path]) -> None:
    store, desc = busybox_index(busybox_rootfs)
    chain = Keychain().with_static(token_registry.address, Credentials(READONLY_USER, READONLY_PASSWORD))
    with Client(keychain=chain) as client, pytest.raises(AccessDeniedError) as info:
        client.push(f"{token_registry.address}/team/readonly:v1", desc, store)
    assert READONLY_USER in info.value.message and "push" in info.value.message
    assert READONLY_PASSWORD not in info.value.message

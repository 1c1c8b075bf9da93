"""The test rig's registries accept and refuse what they should, and arm64 runs under qemu."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import httpx
import pytest

from dockyard.executor import qemu
from tests.rig.registries import READONLY_PASSWORD, READONLY_USER, TestRegistry

pytestmark = pytest.mark.integration


def _challenge(reg: TestRegistry) -> httpx.Response:
    return httpx.get(f"{reg.url}/v2/")


def _token(reg: TestRegistry, scope: str, auth: tuple[str, str] | None) -> str:
    assert reg.token_server is not None
    resp = httpx.get(reg.token_server.realm, params={"service": reg.token_server.service, "scope": scope},
                     auth=auth)
    resp.raise_for_status()
    token: str = resp.json()["token"]
    return token


def test_anonymous_registry_serves_v2(registry: TestRegistry) -> None:
    assert _challenge(registry).status_code == 200


def test_busybox_base_is_a_two_platform_index(busybox_base: str) -> None:
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{busybox_base}"],
                         check=True, capture_output=True, text=True).stdout
    index = json.loads(raw)
    plats = {(m["platform"]["architecture"], m["platform"].get("variant", "")) for m in index["manifests"]}
    assert plats == {("amd64", ""), ("arm64", "")}  # containerd normalizeArch: arm64 has no v8


def test_basic_registry_refuses_anonymous_and_wrong_password(basic_registry: TestRegistry) -> None:
    resp = _challenge(basic_registry)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Basic ")
    assert httpx.get(f"{basic_registry.url}/v2/", auth=("dockyard", "wrong")).status_code == 401
    assert basic_registry.username and basic_registry.password
    ok = httpx.get(f"{basic_registry.url}/v2/", auth=(basic_registry.username, basic_registry.password))
    assert ok.status_code == 200


def test_token_registry_challenges_with_bearer_realm(token_registry: TestRegistry) -> None:
    resp = _challenge(token_registry)
    assert resp.status_code == 401
    header = resp.headers["www-authenticate"]
    assert token_registry.token_server is not None
    assert header.startswith("Bearer ")
    assert f'realm="{token_registry.token_server.realm}"' in header
    assert f'service="{token_registry.token_server.service}"' in header


def test_token_server_refuses_bad_credentials(token_registry: TestRegistry) -> None:
    assert token_registry.token_server is not None
    resp = httpx.get(token_registry.token_server.realm,
                     params={"service": token_registry.token_server.service, "scope": "repository:a:pull"},
                     auth=("dockyard", "wrong"))
    assert resp.status_code == 401


def test_token_scopes_are_honoured(token_registry: TestRegistry) -> None:
    assert token_registry.username and token_registry.password
    user = (token_registry.username, token_registry.password)
    push_a = _token(token_registry, "repository:team/a:pull,push", user)
    headers = {"Authorization": f"Bearer {push_a}"}
    # the granted scope opens an upload in team/a ...
    start = httpx.post(f"{token_registry.url}/v2/team/a/blobs/uploads/", headers=headers)
    assert start.status_code == 202
    # ... but not in team/b
    other = httpx.post(f"{token_registry.url}/v2/team/b/blobs/uploads/", headers=headers)
    assert other.status_code == 401
    scope = other.headers["www-authenticate"].split('scope="', 1)[1].split('"', 1)[0]
    kind, name, actions = scope.split(":")
    assert (kind, name, set(actions.split(","))) == ("repository", "team/b", {"pull", "push"})  # any order
    # a read-only user asking for push gets only pull
    ro = _token(token_registry, "repository:team/a:pull,push", (READONLY_USER, READONLY_PASSWORD))
    denied = httpx.post(f"{token_registry.url}/v2/team/a/blobs/uploads/", headers={"Authorization": f"Bearer {ro}"})
    assert denied.status_code == 401
    # anonymous clients may pull public/* only
    anon_public = _token(token_registry, "repository:public/x:pull", None)
    tags = httpx.get(f"{token_registry.url}/v2/public/x/tags/list", headers={"Authorization": f"Bearer {anon_public}"})
    assert tags.status_code == 404  # authorised; the repository just does not exist
    anon_private = _token(token_registry, "repository:team/a:pull", None)
    refused = httpx.get(f"{token_registry.url}/v2/team/a/tags/list",
                        headers={"Authorization": f"Bearer {anon_private}"})
    assert refused.status_code == 401


@pytest.mark.usefixtures("token_lifetime")
def test_token_lifetime_is_enforced_by_the_registry(token_registry: TestRegistry) -> None:
    import time

    assert token_registry.token_server is not None and token_registry.username and token_registry.password
    token_registry.token_server.lifetime = 3  # whole seconds: the JWT's exp has one-second resolution
    tok = _token(token_registry, "repository:team/a:pull", (token_registry.username, token_registry.password))
    headers = {"Authorization": f"Bearer {tok}"}
    assert httpx.get(f"{token_registry.url}/v2/team/a/tags/list", headers=headers).status_code in (200, 404)
    time.sleep(4.5)
    assert httpx.get(f"{token_registry.url}/v2/team/a/tags/list", headers=headers).status_code == 401


def test_arm64_busybox_runs_under_qemu_in_a_chroot(
    binfmt_arm64: qemu.Emulator, busybox_rootfs: dict[str, Path], tmp_path: Path
) -> None:
    assert binfmt_arm64.registered and "F" in binfmt_arm64.flags
    root = tmp_path / "rootfs"
    with tarfile.open(busybox_rootfs["arm64"]) as tar:
        tar.extractall(root, filter="tar")
    machine = subprocess.run(["chroot", str(root), "/bin/uname", "-m"], check=True, capture_output=True, text=True)
    assert machine.stdout.strip() == "aarch64"
    assert qemu.can_run("arm64")

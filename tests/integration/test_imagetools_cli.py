"""``dockyard imagetools`` and ``login``/``logout`` through the real CLI against real registries."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from dockyard.digest import Digest
from dockyard.oci import mediatypes
from tests.integration.registryhelpers import dockyard, skopeo, skopeo_raw
from tests.rig import baseimage
from tests.rig.registries import TestRegistry
from tests.unit.registry.ocischema import validate

pytestmark = pytest.mark.integration


def _import(ref: str, rootfs: dict[str, Path], *extra: str) -> str:
    out = dockyard("imagetools", "import", "-t", ref, "--platform", f"linux/amd64={rootfs['amd64']}",
                   "--platform", f"linux/arm64={rootfs['arm64']}", *extra).stdout
    name, _, digest = out.strip().partition("@")
    assert name == ref.rsplit(":", 1)[0]
    return digest


def test_import_is_reproducible_and_skopeo_reads_it(registry: TestRegistry, busybox_rootfs: dict[str, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = _import(f"{registry.address}/imported/busybox:a", busybox_rootfs, "--env", "FOO=bar")
    second = _import(f"{registry.address}/imported/busybox:b", busybox_rootfs, "--env", "FOO=bar")
    assert first == second
    raw = skopeo_raw(f"{registry.address}/imported/busybox:a")
    assert str(Digest.of_bytes(raw)) == first
    index = json.loads(raw)
    assert {m["platform"]["architecture"] for m in index["manifests"]} == {"amd64", "arm64"}
    validate("image-index-schema.json", raw)
    for entry in index["manifests"]:
        manifest = skopeo_raw(f"{registry.address}/imported/busybox@{entry['digest']}")
        validate("image-manifest-schema.json", manifest)
        config = skopeo("inspect", "--config", "--raw", "--tls-verify=false",
                        f"docker://{registry.address}/imported/busybox@{entry['digest']}").encode()
        validate("config-schema.json", config)
    shown = json.loads(dockyard("imagetools", "inspect", "--format", "json",
                                f"{registry.address}/imported/busybox:a").stdout)
    arm = shown["image"]["linux/arm64"]
    assert arm["created"] == "2023-11-14T22:13:20Z"
    assert "FOO=bar" in arm["config"]["Env"] and arm["config"]["Cmd"] == ["sh"]


def test_inspect_text_and_raw(busybox_base: str) -> None:
    text = dockyard("imagetools", "inspect", busybox_base).stdout
    raw = skopeo_raw(busybox_base)
    assert f"Name:      {busybox_base}" in text
    assert f"MediaType: {mediatypes.OCI_INDEX}" in text
    assert f"Digest:    {Digest.of_bytes(raw)}" in text
    assert "Platform:    linux/amd64" in text and "Platform:    linux/arm64\n" in text
    assert dockyard("imagetools", "inspect", "--raw", busybox_base).stdout.encode() == raw


def test_create_merges_filters_appends_and_dry_runs(registry: TestRegistry, basic_registry: TestRegistry,
                                                   busybox_base: str) -> None:
    base_name = busybox_base.rsplit(":", 1)[0]
    index = json.loads(skopeo_raw(busybox_base))
    amd = next(m["digest"] for m in index["manifests"] if m["platform"]["architecture"] == "amd64")
    arm = next(m["digest"] for m in index["manifests"] if m["platform"]["architecture"] == "arm64")
    target = f"{registry.address}/created/app:v1"
    dry = dockyard("imagetools", "create", "--dry-run", "-t", target, f"{base_name}@{amd}").stdout
    assert json.loads(dry)["manifests"][0]["platform"] == {"architecture": "amd64", "os": "linux"}
    assert dockyard("imagetools", "inspect", target, check=False).returncode == 1  # dry run pushed nothing
    dockyard("imagetools", "create", "-t", target, f"{base_name}@{amd}")
    assert [m["digest"] for m in json.loads(skopeo_raw(target))["manifests"]] == [amd]
    dockyard("imagetools", "create", "--append", "-t", target, busybox_base, "--platform", "linux/arm64")
    assert [m["digest"] for m in json.loads(skopeo_raw(target))["manifests"]] == [amd, arm]
    validate("image-index-schema.json", skopeo_raw(target))
    # across registries (blobs copied through the local store) to an authenticated one
    config = Path(os.environ["DOCKER_CONFIG"])
    dockyard("login", "-u", str(basic_registry.username), "--password-stdin", basic_registry.address,
             stdin=f"{basic_registry.password}\n")
    assert stat.S_IMODE((config / "config.json").stat().st_mode) == 0o600
    remote = f"{basic_registry.address}/created/app:v1"
    dockyard("imagetools", "create", "-t", remote, target)
    assert skopeo_raw(remote, basic_registry) == skopeo_raw(target)


@pytest.mark.parametrize("kind", ["basic_registry", "token_registry"])
def test_login_logout(kind: str, request: pytest.FixtureRequest, busybox_rootfs: dict[str, Path]) -> None:
    reg: TestRegistry = request.getfixturevalue(kind)
    bad = dockyard("login", "-u", str(reg.username), "--password-stdin", reg.address, stdin="wrong-Secret-987\n",
                   check=False)
    assert bad.returncode == 1
    assert "wrong-Secret-987" not in bad.stdout + bad.stderr
    assert f"dockyard login {reg.address}" in bad.stderr
    ok = dockyard("login", "-u", str(reg.username), "--password-stdin", reg.address, stdin=f"{reg.password}\n")
    assert "Login Succeeded" in ok.stdout
    assert str(reg.password) not in ok.stdout + ok.stderr
    _import(f"{reg.address}/private/app:v1", busybox_rootfs)
    assert dockyard("logout", reg.address).stdout.startswith("Removing login credentials")
    denied = dockyard("imagetools", "inspect", f"{reg.address}/private/app:v1", check=False)
    assert denied.returncode == 1 and f"dockyard login {reg.address}" in denied.stderr


def test_create_from_docker_schema2_images_makes_a_manifest_list(registry: TestRegistry, tmp_path: Path) -> None:
    layout = tmp_path / "umoci"
    baseimage.build_layout(layout, "latest")  # tags amd64 and arm64 hold the single-platform images
    sources = []
    for arch in ("amd64", "arm64"):
        ref = f"{registry.address}/docker2/busybox:{arch}"
        subprocess.run(["skopeo", "copy", "--quiet", "--format", "v2s2", "--dest-tls-verify=false",
                        f"oci:{layout}:{arch}", f"docker://{ref}"], check=True, capture_output=True)
        assert json.loads(skopeo_raw(ref))["mediaType"] == mediatypes.DOCKER_MANIFEST
        sources.append(ref)
    target = f"{registry.address}/docker2/busybox:multi"
    dockyard("imagetools", "create", "-t", target, *sources)
    index = json.loads(skopeo_raw(target))
    assert index["mediaType"] == mediatypes.DOCKER_MANIFEST_LIST
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    text = dockyard("imagetools", "inspect", target).stdout
    assert f"MediaType: {mediatypes.DOCKER_MANIFEST_LIST}" in text
    assert "Platform:    linux/arm64\n" in text  # as the umoci config says (no variant)

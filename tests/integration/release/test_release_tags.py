"""Issue 13's headline: a v1.2.3 tag on main, in a GitHub-like environment, builds two platforms
and pushes 1.2.3, 1.2, 1, latest and sha-XXXXXXX to two registries (HTTPS with a CA the test made
and a Harbor-style robot user; plain loopback HTTP), with one index digest and the OCI labels;
a pre-release tag then adds only its full version (and its sha tag), and latest stays put."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.build.buildrig import dockyard
from tests.integration.release.releaserig import (
    ca_dir,
    commit_and_tag,
    github_env,
    labels,
    list_tags,
    make_repo,
    raw_bytes,
    raw_digest,
)
from tests.rig import registries
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _trust(reg: TestRegistry, config_home: Path) -> None:
    """The CA given in dockyard's registries.toml (buildkitd.toml's [registry."host"] ca = [...])."""
    path = config_home / "dockyard" / "registries.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[registry."{reg.address}"]\nca = ["{reg.ca}"]\n')


def test_semver_release_to_two_registries_then_prerelease(
    busybox_base: str, registry: TestRegistry, tls_registry: TestRegistry, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _trust(tls_registry, tmp_path / "xdg-config")
    out = subprocess.run([sys.executable, "-m", "dockyard", "login", "-u", registries.ROBOT_USER,
                          "--password-stdin", tls_registry.address], input=registries.ROBOT_PASSWORD,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert registries.ROBOT_PASSWORD not in out.stdout + out.stderr

    repo = make_repo(tmp_path / "app")
    sha = commit_and_tag(repo, "v1.2.3")
    for key, value in github_env(repo, "v1.2.3").items():
        monkeypatch.setenv(key, value)
    tls_name, plain_name = f"{tls_registry.address}/project/app", f"{registry.address}/mirror/release-app"
    meta_file = tmp_path / "meta.json"
    build = dockyard("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "--build-arg",
                     f"BASE={busybox_base}", "--tags-from-git", "-t", tls_name, "-t", plain_name, "--push",
                     "--annotation", "manifest[linux/arm64]:org.example.arch=arm64",
                     "--annotation", "index:org.opencontainers.image.title=release-app",
                     "--metadata-file", str(meta_file), str(repo))
    certs = ca_dir(tls_registry, tmp_path / "skopeo-certs")
    expected = {"1.2.3", "1.2", "1", "latest", f"sha-{sha[:7]}"}
    assert list_tags(tls_registry, "project/app", certs) == expected
    assert list_tags(registry, "mirror/release-app") == expected
    digest = json.loads(meta_file.read_text())["containerimage.digest"]
    for tag in expected:
        assert raw_digest(tls_registry, f"{tls_name}:{tag}", certs) == digest
        assert raw_digest(registry, f"{plain_name}:{tag}") == digest
    assert build.stdout.strip() == digest
    for arch in ("amd64", "arm64"):
        got = labels(tls_registry, f"{tls_name}:1.2.3", arch, certs)
        assert got["org.opencontainers.image.version"] == "1.2.3"
        assert got["org.opencontainers.image.revision"] == sha
        assert got["org.opencontainers.image.source"] == "https://github.com/octo/app"
        assert "org.opencontainers.image.created" in got
        assert labels(registry, f"{plain_name}:latest", arch) == got
    index = json.loads(raw_bytes(registry, f"{plain_name}:1.2.3"))
    assert index["annotations"]["org.opencontainers.image.version"] == "1.2.3"
    assert index["annotations"]["org.opencontainers.image.title"] == "release-app"  # --annotation wins
    for entry in index["manifests"]:
        arch = entry["platform"]["architecture"]
        manifest = json.loads(raw_bytes(registry, f"{plain_name}@{entry['digest']}"))
        assert manifest["annotations"]["org.opencontainers.image.revision"] == sha
        assert ("org.example.arch" in manifest["annotations"]) == (arch == "arm64")
    assert re.fullmatch(r"default/default/[a-z0-9]{25}", json.loads(meta_file.read_text())["buildx.build.ref"])
    release = json.loads(meta_file.read_text())["dockyard.release"]
    assert release["version"] == "1.2.3" and f"{tls_name}:1.2.3" in release["tags"]

    sha2 = commit_and_tag(repo, "v1.3.0-rc.1")
    for key, value in github_env(repo, "v1.3.0-rc.1").items():
        monkeypatch.setenv(key, value)
    dockyard("build", "--progress", "plain", "--platform", "linux/amd64,linux/arm64", "--build-arg",
             f"BASE={busybox_base}", "--tags-from-git", "-t", tls_name, "-t", plain_name, "--push",
             "--metadata-file", str(meta_file), str(repo))
    digest2 = json.loads(meta_file.read_text())["containerimage.digest"]
    assert digest2 != digest
    grown = expected | {"1.3.0-rc.1", f"sha-{sha2[:7]}"}
    assert list_tags(tls_registry, "project/app", certs) == grown
    assert list_tags(registry, "mirror/release-app") == grown
    assert raw_digest(tls_registry, f"{tls_name}:latest", certs) == digest  # latest did not move
    assert raw_digest(registry, f"{plain_name}:1.3.0-rc.1") == digest2
    assert raw_digest(tls_registry, f"{tls_name}:1.3.0-rc.1", certs) == digest2

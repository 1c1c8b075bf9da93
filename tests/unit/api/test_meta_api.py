"""``dockyard.meta`` alone, no CLI: tags, labels and annotations from a CI environment and from a
plain git repository, the JSON ``dockyard meta --format json`` prints, and typed errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import dockyard

SHA = "860c1904a1ce19322e91ac35af1ab0aa4d7e05f1"


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's own environment decides, not the CI this suite may run in."""
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "CI_", "GITLAB")) or key in ("CI", "DOCKER_METADATA_SHORT_SHA_LENGTH"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def _github(monkeypatch: pytest.MonkeyPatch, ref: str) -> None:
    for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_REF": ref, "GITHUB_SHA": SHA, "GITHUB_EVENT_NAME": "push",
                       "GITHUB_REPOSITORY": "octo/app", "GITHUB_SERVER_URL": "https://github.com"}.items():
        monkeypatch.setenv(key, value)


RELEASE = ["type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
           "type=semver,pattern={{major}}", "type=sha"]


def test_a_release_tag_in_github_actions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _github(monkeypatch, "refs/tags/v1.2.3")
    got = dockyard.meta(tmp_path, images=["reg.example/app"], tag_specs=RELEASE,
                        labels={"org.example.team": "yard"})
    assert got.version == "1.2.3" and got.latest
    assert got.tag_names == ("1.2.3", "1.2", "1", "sha-860c190", "latest")
    assert got.tags == tuple(f"reg.example/app:{n}" for n in got.tag_names)
    assert got.labels["org.opencontainers.image.version"] == "1.2.3"
    assert got.labels["org.opencontainers.image.revision"] == SHA
    assert got.labels["org.opencontainers.image.source"] == "https://github.com/octo/app"
    assert got.labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"  # SOURCE_DATE_EPOCH
    assert got.labels["org.example.team"] == "yard"
    assert got.annotations == tuple(f"manifest:{k}={v}" for k, v in got.labels.items())
    assert got.json["tags"] == list(got.tags) and got.json["annotations"] == list(got.annotations)


def test_a_prerelease_gets_only_its_full_version(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _github(monkeypatch, "refs/tags/v2.0.0-rc.1")
    got = dockyard.meta(tmp_path, tag_specs=RELEASE)
    assert got.tag_names == ("2.0.0-rc.1", "sha-860c190") and not got.latest


def test_defaults_flavor_and_no_default_labels(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _github(monkeypatch, "refs/heads/feature/x")
    got = dockyard.meta(tmp_path)  # metadata-action's default specs: the branch, sanitized
    assert got.tag_names == ("feature-x",)
    got = dockyard.meta(tmp_path, tag_specs="type=ref,event=branch", flavor=["prefix=dev-", "latest=true"],
                        no_default_labels=True, labels=["org.example.ref={{branch}}"])
    assert got.tag_names == ("dev-feature-x", "latest")  # the prefix skips latest without onlatest=true
    assert got.labels == {"org.example.ref": "feature/x"}  # {{...}} expanded; no org.opencontainers.image.*


def test_a_plain_git_repository(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("-c", "user.email=ci@example.com", "-c", "user.name=CI", "commit", "-q", "--allow-empty", "-m", "one")
    git("tag", "v0.4.1")
    got = dockyard.meta(tmp_path, tag_specs=RELEASE)
    sha = git("rev-parse", "HEAD")
    assert got.tag_names == ("0.4.1", "0.4", "0", f"sha-{sha[:7]}", "latest")
    assert got.labels["org.opencontainers.image.revision"] == sha


def test_the_cli_prints_the_api_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _github(monkeypatch, "refs/tags/v1.2.3")
    got = dockyard.meta(tmp_path, images="reg.example/app", tag_specs=RELEASE)
    out = subprocess.run([sys.executable, "-m", "dockyard", "meta", "--format", "json", "--image", "reg.example/app",
                          *(a for spec in RELEASE for a in ("--tag-spec", spec))], cwd=tmp_path, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert json.loads(out) == got.json


def test_errors_are_typed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(dockyard.UsageError, match="not a git repository") as info:
        dockyard.meta(tmp_path)
    assert info.value.hint
    _github(monkeypatch, "refs/tags/v1.2.3")
    with pytest.raises(dockyard.UsageError, match="missing pattern attribute"):
        dockyard.meta(tmp_path, tag_specs="type=semver")

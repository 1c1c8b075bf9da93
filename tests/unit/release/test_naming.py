"""A release build's names (``release/naming.py``), the one planner behind ``dockyard build
--tags-from-git`` and ``dockyard.build(tags_from_git=True)``: which -t names get the computed
tags, whose labels and annotations win, and what is refused before anything is built."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dockyard
from dockyard.platform import Platform
from dockyard.release.naming import name_release

SHA = "860c1904a1ce19322e91ac35af1ab0aa4d7e05f1"
VERSION = "org.opencontainers.image.version"


@pytest.fixture(autouse=True)
def _github_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "CI_", "GITLAB")) or key == "CI":
            monkeypatch.delenv(key)
    for key, value in {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_SHA": SHA,
                       "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "octo/app"}.items():
        monkeypatch.setenv(key, value)


def test_names_without_a_tag_get_every_tag_and_given_values_win(tmp_path: Path) -> None:
    warnings: list[str] = []
    names = name_release(tmp_path, tags=["reg.example/app", "reg.example/pinned:stable"],
                         labels={VERSION: "given"}, annotations=["manifest:org.opencontainers.image.title=given"],
                         tags_from_git=True, platforms=2, warn=warnings.append)
    assert names.tags == ("reg.example/app:1.2.3", "reg.example/app:1.2", "reg.example/app:1",
                          "reg.example/app:sha-860c190", "reg.example/app:latest", "reg.example/pinned:stable")
    assert names.labels[VERSION] == "given" and names.labels["org.opencontainers.image.revision"] == SHA
    amd64 = Platform.parse("linux/amd64")
    assert names.annotations.for_platform("manifest", amd64)["org.opencontainers.image.title"] == "given"
    assert names.annotations.for_platform("manifest", amd64)[VERSION] == "1.2.3"  # labels given are not annotations
    assert names.annotations.index[VERSION] == "1.2.3"  # several platforms: on the index too
    assert names.base_annotations and not warnings
    assert names.metadata()["dockyard.release"]["version"] == "1.2.3"


def test_one_platform_no_default_labels_and_without_tags_from_git(tmp_path: Path) -> None:
    one = name_release(tmp_path, tags=["reg.example/app"], labels={}, annotations=[], tags_from_git=True,
                       platforms=1, warn=print)
    assert one.annotations.index == {}
    bare = name_release(tmp_path, tags=["reg.example/app"], labels={}, annotations=[], tags_from_git=True,
                        default_labels=False, platforms=2, warn=print)
    assert bare.labels == {} and bare.annotations.items == () and not bare.base_annotations
    plain = name_release(tmp_path, tags=["reg.example/app"], labels={"a": "b"}, annotations=[],
                         tags_from_git=False, platforms=2, warn=print)
    assert plain.tags == ("reg.example/app",) and plain.labels == {"a": "b"} and plain.metadata() == {}


def test_the_api_refuses_before_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(dockyard.UsageError, match="need --tags-from-git"):
        dockyard.build(tmp_path, tags="reg.example/app", tag_specs=["type=sha"])
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")  # a branch: no version to tag with
    with pytest.raises(dockyard.UsageError, match="no tag could be computed from git") as info:
        dockyard.build(tmp_path, tags="reg.example/app", tags_from_git=True,
                       tag_specs=["type=semver,pattern={{version}}"])
    assert info.value.hint and "dockyard meta" in info.value.hint
    notices: list[object] = []
    with pytest.raises(dockyard.UsageError):
        dockyard.build(tmp_path, tags="reg.example/app", tags_from_git=True, progress=notices.append,
                       tag_specs=["type=semver,pattern={{version}},value=not-a-version"])
    assert [getattr(n, "message", "") for n in notices] == ["WARNING: not-a-version is not a valid semantic version"]

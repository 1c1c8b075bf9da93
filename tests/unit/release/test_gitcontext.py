"""Release context from a real git repository and from GitLab CI's variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dockyard.release.gitcontext import from_environment, from_gitlab, web_url
from dockyard.release.meta import compute

SEMVER_SPECS = ("type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
                "type=semver,pattern={{major}}", "type=sha")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "app"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.email", "ci@example.com")
    _git(path, "config", "user.name", "CI")
    _git(path, "remote", "add", "origin", "git@git.example.com:team/app.git")
    (path / "README").write_text("one\n")
    _git(path, "add", "README")
    _git(path, "commit", "-q", "-m", "one")
    return path


def test_tag_at_head_gives_semver_tags_and_latest(repo: Path) -> None:
    _git(repo, "tag", "v1.2.3")
    _git(repo, "tag", "v1.2.3-rc.1")  # the highest version at HEAD wins
    context = from_environment({}, repo=repo)
    sha = _git(repo, "rev-parse", "HEAD")
    assert (context.ref, context.sha, context.default_branch) == ("refs/tags/v1.2.3", sha, "main")
    meta = compute(context, specs=SEMVER_SPECS, images=["reg.example/team/app"], env={})
    assert meta.tag_names == ["1.2.3", "1.2", "1", f"sha-{sha[:7]}", "latest"]
    assert meta.labels["org.opencontainers.image.source"] == "https://git.example.com/team/app"
    assert meta.labels["org.opencontainers.image.revision"] == sha
    assert meta.labels["org.opencontainers.image.version"] == "1.2.3"


def test_dirty_tree_is_not_the_tagged_release(repo: Path) -> None:
    _git(repo, "tag", "v1.2.3")
    (repo / "README").write_text("changed\n")
    context = from_environment({}, repo=repo)
    assert context.ref == "refs/heads/main" and context.dirty
    assert any("v1.2.3" in w for w in context.warnings)
    meta = compute(context, specs=SEMVER_SPECS, env={})
    assert meta.tag_names == [f"sha-{context.sha[:7]}"]


def test_prerelease_tag_gives_only_full_version(repo: Path) -> None:
    _git(repo, "tag", "v2.0.0-beta.1")
    meta = compute(from_environment({}, repo=repo), specs=SEMVER_SPECS[:3], env={})
    assert meta.tag_names == ["2.0.0-beta.1"] and not meta.version.latest


@pytest.mark.parametrize(("env", "ref", "event"), [
    ({"CI_COMMIT_TAG": "v1.0.0", "CI_COMMIT_SHA": "a" * 40}, "refs/tags/v1.0.0", "push"),
    ({"CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": "a" * 40}, "refs/heads/main", "push"),
    ({"CI_MERGE_REQUEST_IID": "42", "CI_COMMIT_SHA": "a" * 40}, "refs/pull/42/merge", "pull_request"),
    ({"CI_COMMIT_BRANCH": "main", "CI_COMMIT_SHA": "a" * 40, "CI_PIPELINE_SOURCE": "schedule"},
     "refs/heads/main", "schedule"),
])
def test_gitlab_variables(env: dict[str, str], ref: str, event: str) -> None:
    context = from_environment({"GITLAB_CI": "true", **env})
    assert (context.ref, context.event) == (ref, event)
    assert from_gitlab(env).ref == ref


def test_gitlab_merge_request_tag() -> None:
    context = from_gitlab({"CI_MERGE_REQUEST_IID": "42", "CI_COMMIT_SHA": "b" * 40})
    assert compute(context, env={}).tag_names == ["pr-42"]


@pytest.mark.parametrize(("remote", "url"), [
    ("git@github.com:octo/app.git", "https://github.com/octo/app"),
    ("https://user:token@gitlab.example.com/g/app.git", "https://gitlab.example.com/g/app"),
    ("ssh://git@host.example:2222/g/app.git", "https://host.example/g/app"),
    ("/srv/git/app.git", None),
])
def test_remote_web_url_drops_credentials(remote: str, url: str | None) -> None:
    assert web_url(remote) == url

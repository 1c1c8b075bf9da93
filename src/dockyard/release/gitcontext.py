"""Where a release build stands in its repository: the ref, commit, event and repository facts.

Read from the CI's environment when a CI set it (GitHub Actions: ``GITHUB_REF``, ``GITHUB_SHA``,
``GITHUB_EVENT_NAME`` and the event payload at ``GITHUB_EVENT_PATH``; GitLab CI: ``CI_COMMIT_TAG``,
``CI_COMMIT_BRANCH``, ``CI_MERGE_REQUEST_IID``, ``CI_COMMIT_SHA``, ``CI_PIPELINE_SOURCE``), else from
the local git repository (a tag at HEAD, else the branch). Every source is turned into the same
GitHub-style ref (``refs/tags/v1.2.3``, ``refs/heads/main``, ``refs/pull/15/merge``), so tag
computation has one model. A dirty working tree never counts as a tagged release: its tags at
HEAD are ignored (with a warning) and the branch is used.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import UsageError
from dockyard.release import semver


@dataclass(frozen=True, kw_only=True)
class GitContext:
    """The facts tags and labels are computed from (all optional: an empty one yields no tags)."""

    ref: str = ""
    sha: str = ""
    event: str = ""
    commit_date: dt.datetime | None = None
    default_branch: str | None = None
    base_ref: str | None = None  # the branch a tag was pushed from, or a pull request's base
    dirty: bool = False
    source_url: str | None = None
    title: str | None = None
    description: str | None = None
    licenses: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else ""

    @property
    def tag(self) -> str:
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else ""

    def is_default_branch(self) -> bool:
        """metadata-action's rule: the default branch, or an event that always runs on it."""
        branch = self.ref.removeprefix("refs/heads/")
        if not branch:
            return False
        if self.default_branch is not None and branch == self.default_branch:
            return True
        return any(word in self.event for word in ("create", "discussion", "issues", "schedule"))


def from_environment(env: Mapping[str, str] | None = None, *, repo: Path | None = None) -> GitContext:
    """The context the environment describes: GitHub Actions, GitLab CI, or plain git."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true" or env.get("GITHUB_REF"):
        return from_github(env)
    if env.get("GITLAB_CI") == "true" or env.get("CI_COMMIT_SHA"):
        return from_gitlab(env)
    return from_git(repo or Path.cwd())


def _payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _date(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def from_github(env: Mapping[str, str], *, payload: Mapping[str, Any] | None = None) -> GitContext:
    """GitHub Actions' variables and event payload, read as metadata-action reads them."""
    payload = _payload(env) if payload is None else payload
    event = env.get("GITHUB_EVENT_NAME", "")
    ref, sha = env.get("GITHUB_REF", ""), env.get("GITHUB_SHA", "")
    if "pull_request_target" in event and payload.get("number") is not None:
        ref = f"refs/pull/{payload['number']}/merge"  # the PR, not the base branch the job runs on
    if "pull_request" in event and env.get("DOCKER_METADATA_PR_HEAD_SHA", "").lower() == "true":
        sha = str(payload.get("pull_request", {}).get("head", {}).get("sha") or sha)
    repository = payload.get("repository") or {}
    base_ref = None
    if ref.startswith("refs/tags/") and payload.get("base_ref"):
        base_ref = str(payload["base_ref"]).removeprefix("refs/heads/")
    elif ref.startswith("refs/pull/"):
        base_ref = (payload.get("pull_request") or {}).get("base", {}).get("ref")
    when = None
    for commit in payload.get("commits") or []:
        if isinstance(commit, dict) and commit.get("id") == sha:
            when = _date(commit.get("timestamp"))
    head = payload.get("head_commit") or {}
    if when is None and head.get("id") == sha:
        when = _date(head.get("timestamp"))
    server, name = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY", "")
    license_info = repository.get("license") or {}
    return GitContext(
        ref=ref, sha=sha, event=event, commit_date=when, default_branch=repository.get("default_branch"),
        base_ref=base_ref, source_url=repository.get("html_url") or (f"{server}/{name}" if name else None),
        title=repository.get("name") or (name.rpartition("/")[2] or None), description=repository.get("description"),
        licenses=license_info.get("spdx_id") if isinstance(license_info, dict) else None,
    )


def from_gitlab(env: Mapping[str, str]) -> GitContext:
    """GitLab CI's predefined variables, mapped onto GitHub-style refs and events."""
    source = env.get("CI_PIPELINE_SOURCE", "")
    if env.get("CI_MERGE_REQUEST_IID"):
        ref, event = f"refs/pull/{env['CI_MERGE_REQUEST_IID']}/merge", "pull_request"
    elif env.get("CI_COMMIT_TAG"):
        ref, event = f"refs/tags/{env['CI_COMMIT_TAG']}", "push"
    elif env.get("CI_COMMIT_BRANCH"):
        ref, event = f"refs/heads/{env['CI_COMMIT_BRANCH']}", "push"
    else:
        ref, event = "", ""
    if source == "schedule":
        event = "schedule"
    return GitContext(
        ref=ref, sha=env.get("CI_COMMIT_SHA", ""), event=event, commit_date=_date(env.get("CI_COMMIT_TIMESTAMP")),
        default_branch=env.get("CI_DEFAULT_BRANCH"), base_ref=env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"),
        source_url=env.get("CI_PROJECT_URL"), title=env.get("CI_PROJECT_NAME"),
        description=env.get("CI_PROJECT_DESCRIPTION") or None,
    )


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="install git, or set the CI variables") from None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _release_tag(tags: list[str]) -> str:
    """Of several tags at HEAD, the highest semantic version (else the first by name)."""
    versions = [(v, t) for t in tags if (v := semver.parse(t)) is not None]
    if versions:
        best = max(versions, key=lambda p: (p[0].major, p[0].minor, p[0].patch, not p[0].prerelease, p[0].prerelease))
        return best[1]
    return sorted(tags)[0]


def from_git(repo: Path) -> GitContext:
    """The local repository's HEAD: a tag pointing at it (unless dirty), else the branch."""
    sha = _git(repo, "rev-parse", "HEAD")
    if sha is None:
        raise UsageError(f"{repo} is not a git repository with a commit",
                         hint="run in a git checkout, or set GITHUB_* / CI_COMMIT_* variables")
    dirty = bool(_git(repo, "status", "--porcelain", "--untracked-files=no"))
    tags = [t for t in (_git(repo, "tag", "--points-at", "HEAD") or "").splitlines() if t]
    branch = _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD") or ""
    warnings: list[str] = []
    if tags and dirty:
        warnings.append(f"the working tree has changes: tag {_release_tag(tags)} at HEAD is not used")
    ref = f"refs/tags/{_release_tag(tags)}" if tags and not dirty else (f"refs/heads/{branch}" if branch else "")
    remote = _git(repo, "config", "--get", "remote.origin.url")
    url = web_url(remote) if remote else None
    default = (_git(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD") or "")
    return GitContext(
        ref=ref, sha=sha, event="push" if ref else "", commit_date=_date(_git(repo, "show", "-s", "--format=%cI")),
        default_branch=default.removeprefix("origin/") or _git(repo, "config", "--get", "init.defaultBranch")
        or "main", dirty=dirty, source_url=url,
        title=(url or "").rstrip("/").rpartition("/")[2] or repo.resolve().name, warnings=tuple(warnings),
    )


_SCP = re.compile(r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$")


def web_url(remote: str) -> str | None:
    """A remote's browsable https URL (``git@host:o/r.git`` -> ``https://host/o/r``); credentials dropped."""
    remote = remote.strip()
    m = _SCP.match(remote)
    if m and "://" not in remote:
        return f"https://{m['host']}/{m['path'].removesuffix('.git')}"
    scheme, sep, rest = remote.partition("://")
    if not sep or scheme not in ("https", "http", "ssh", "git"):
        return None
    host_path = rest.rpartition("@")[2] if "@" in rest.partition("/")[0] else rest
    host, _, path = host_path.partition("/")
    host = host.partition(":")[0] if scheme in ("ssh", "git") else host
    return f"https://{host}/{path.removesuffix('.git')}" if scheme != "http" else f"http://{host}/{path.removesuffix('.git')}"

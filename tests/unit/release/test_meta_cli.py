"""``dockyard meta``: the computed tags and labels for other CI steps, text and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _meta(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_", "GITLAB"))}
    return subprocess.run([sys.executable, "-m", "dockyard", "meta", *args], capture_output=True, text=True,
                          env={**clean, **env}, cwd=cwd, check=False, timeout=60)


def test_github_push_of_a_tag(tmp_path: Path) -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_SHA": "860c1904a1ce19322e91ac35af1ab0",
           "GITHUB_EVENT_NAME": "push", "GITHUB_REPOSITORY": "octo/app", "SOURCE_DATE_EPOCH": "1700000000"}
    text = _meta("--image", "reg.example/app", "--image", "ghcr.io/octo/app", "--tag-spec",
                 "type=semver,pattern={{version}}", "--tag-spec", "type=semver,pattern={{major}}",
                 env=env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert text.stdout.split() == ["reg.example/app:1.2.3", "reg.example/app:1", "reg.example/app:latest",
                                   "ghcr.io/octo/app:1.2.3", "ghcr.io/octo/app:1", "ghcr.io/octo/app:latest"]
    doc = json.loads(_meta("--format", "json", "--flavor", "latest=false", env=env, cwd=tmp_path).stdout)
    assert doc["tags"] == ["v1.2.3"] and doc["latest"] is False  # metadata-action's default specs
    assert doc["labels"] == {"org.opencontainers.image.created": "2023-11-14T22:13:20Z",
                             "org.opencontainers.image.revision": "860c1904a1ce19322e91ac35af1ab0",
                             "org.opencontainers.image.source": "https://github.com/octo/app",
                             "org.opencontainers.image.title": "app",
                             "org.opencontainers.image.url": "https://github.com/octo/app",
                             "org.opencontainers.image.version": "v1.2.3"}


def test_outside_git_and_ci_is_one_line_error(tmp_path: Path) -> None:
    out = _meta(env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "not a git repository" in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_tag_spec_exits_2(tmp_path: Path) -> None:
    out = _meta("--tag-spec", "type=semver", env={"GITHUB_REF": "refs/heads/main", "GITHUB_SHA": "a" * 40},
                cwd=tmp_path)
    assert out.returncode == 2 and "missing pattern attribute in tag spec 'type=semver'" in out.stderr

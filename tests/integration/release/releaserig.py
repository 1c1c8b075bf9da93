"""A release workspace for the tests: a git repository with a Dockerfile, tags, a CI environment,
and skopeo views of what the registries hold (checked with skopeo, not with dockyard's reader)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from tests.rig.registries import TestRegistry

DOCKERFILE = """\
ARG BASE
FROM $BASE
COPY hello.txt /hello.txt
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def make_repo(root: Path, *, dockerfile: str = DOCKERFILE) -> Path:
    """A repository on ``main`` with one commit holding a Dockerfile and hello.txt."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    (root / "Dockerfile").write_text(dockerfile)
    (root / "hello.txt").write_text("hello\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def commit_and_tag(repo: Path, tag: str) -> str:
    """A new commit tagged ``tag``; returns its sha."""
    (repo / "hello.txt").write_text(f"hello from {tag}\n")
    git(repo, "commit", "-q", "-am", f"release {tag}")
    git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


def github_env(repo: Path, tag: str) -> dict[str, str]:
    """The variables a GitHub runner sets for a push of ``tag``."""
    return {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_REF": f"refs/tags/{tag}",
            "GITHUB_REF_NAME": tag, "GITHUB_REF_TYPE": "tag", "GITHUB_SHA": git(repo, "rev-parse", "HEAD"),
            "GITHUB_REPOSITORY": "octo/app", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_WORKSPACE": str(repo)}


def skopeo_args(reg: TestRegistry, certs: Path | None) -> list[str]:
    args = []
    if reg.ca is not None:
        assert certs is not None
        args += ["--cert-dir", str(certs)]
    else:
        args += ["--tls-verify=false"]
    if reg.username:
        args += ["--creds", f"{reg.username}:{reg.password}"]
    return args


def ca_dir(reg: TestRegistry, root: Path) -> Path:
    """A directory holding only the registry's CA as ``ca.crt`` (skopeo's --cert-dir)."""
    assert reg.ca is not None
    root.mkdir(parents=True, exist_ok=True)
    (root / "ca.crt").write_bytes(reg.ca.read_bytes())
    return root


def list_tags(reg: TestRegistry, repo: str, certs: Path | None = None) -> set[str]:
    out = subprocess.run(["skopeo", "list-tags", *skopeo_args(reg, certs), f"docker://{reg.address}/{repo}"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        if "unknown" in out.stderr.lower() or "not found" in out.stderr.lower():
            return set()
        raise AssertionError(out.stderr)
    tags: list[str] = json.loads(out.stdout)["Tags"] or []
    return set(tags)


def raw_bytes(reg: TestRegistry, ref: str, certs: Path | None = None) -> bytes:
    """The manifest or index exactly as the registry serves it (skopeo inspect --raw)."""
    return subprocess.run(["skopeo", "inspect", "--raw", *skopeo_args(reg, certs), f"docker://{ref}"],
                          check=True, capture_output=True).stdout


def raw_digest(reg: TestRegistry, ref: str, certs: Path | None = None) -> str:
    return "sha256:" + hashlib.sha256(raw_bytes(reg, ref, certs)).hexdigest()


def labels(reg: TestRegistry, ref: str, arch: str, certs: Path | None = None) -> dict[str, str]:
    out = subprocess.run(["skopeo", "inspect", "--override-arch", arch, "--override-os", "linux",
                          *skopeo_args(reg, certs), f"docker://{ref}"], check=True, capture_output=True, text=True)
    doc: dict[str, Any] = json.loads(out.stdout)
    return dict(doc.get("Labels") or {})


TRIVY_CRITICAL = {"SchemaVersion": 2, "ArtifactName": "app", "Results": [{
    "Target": "app (debian 12)", "Class": "os-pkgs",
    "Vulnerabilities": [{"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "Severity": "CRITICAL"}]}]}

"""The GitHub Action and the GitLab CI template, run end to end as their runners would: the
action's steps with a GitHub-like environment, the template's before_script and script with
GitLab's variables, in a fresh git workspace with a release tag, against the private (TLS, robot
user / job token) and the plain registry; tags, labels and digests are read with skopeo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.integration.release.cirunner import run_action, run_gitlab_job
from tests.integration.release.releaserig import (
    ca_dir,
    commit_and_tag,
    git,
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

ROOT = Path(__file__).resolve().parents[3]


def _runner_env(tmp_path: Path, tls: TestRegistry) -> dict[str, str]:
    """A clean runner environment: dockyard on PATH (preinstalled), its own config, the CA in registries.toml."""
    config_home = tmp_path / "xdg-config"
    (config_home / "dockyard").mkdir(parents=True)
    (config_home / "dockyard" / "registries.toml").write_text(f'[registry."{tls.address}"]\nca = ["{tls.ca}"]\n')
    venv_bin = str(Path(sys.executable).parent)
    return {"PATH": f"{venv_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(config_home),
            "DOCKER_CONFIG": str(tmp_path / "docker-config"), "DOCKYARD_ROOT": os.environ["DOCKYARD_ROOT"],
            "LANG": "C.UTF-8"}


def test_github_action_end_to_end(busybox_base: str, registry: TestRegistry, tls_registry: TestRegistry,
                                  tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "workspace")
    sha = commit_and_tag(repo, "v3.1.4")
    env = {**_runner_env(tmp_path, tls_registry), **github_env(repo, "v3.1.4")}
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    tls_name, plain_name = f"{tls_registry.address}/project/gh-app", f"{registry.address}/mirror/gh-app"
    run = run_action(ROOT, workspace=repo, temp=temp, env=env, inputs={
        "platforms": "linux/amd64,linux/arm64", "tags": f"{tls_name}\n{plain_name}\n", "push": "true",
        "tags-from-git": "true", "build-args": f"BASE={busybox_base}", "labels": "org.example.team=release",
        "annotations": "index:org.example.pipeline=github",
        "gates": "max-layers=10\nno-secrets\n", "secrets": "token=very-secret-value", "provenance": "mode=min",
        "registry": tls_registry.address, "username": registries.ROBOT_USER, "password": registries.ROBOT_PASSWORD,
    })
    assert run.ok, run.log
    assert "dockyard already installed" in run.steps[0].stdout
    assert registries.ROBOT_PASSWORD not in run.log and "very-secret-value" not in run.log
    certs = ca_dir(tls_registry, tmp_path / "skopeo-certs")
    expected = {"3.1.4", "3.1", "3", "latest", f"sha-{sha[:7]}"}
    assert list_tags(tls_registry, "project/gh-app", certs) == expected
    assert list_tags(registry, "mirror/gh-app") == expected
    digest = run.outputs["digest"]
    assert digest.startswith("sha256:") and run.outputs["imageid"] == digest  # an index: the id is its digest
    assert raw_digest(tls_registry, f"{tls_name}:latest", certs) == digest == raw_digest(registry, f"{plain_name}:3")
    metadata = json.loads(run.outputs["metadata"])
    assert metadata["containerimage.digest"] == digest and metadata["dockyard.gates"]["passed"] is True
    got = labels(tls_registry, f"{tls_name}:3.1.4", "arm64", certs)
    assert got["org.opencontainers.image.version"] == "3.1.4" and got["org.example.team"] == "release"
    assert got["org.opencontainers.image.revision"] == sha
    index = json.loads(raw_bytes(registry, f"{plain_name}:3.1.4"))
    assert index["annotations"]["org.example.pipeline"] == "github"
    kinds = [m.get("annotations", {}).get("vnd.docker.reference.type") for m in index["manifests"]]
    assert kinds.count("attestation-manifest") == 2  # provenance, one per platform (buildx's index layout)
    assert index["annotations"]["org.opencontainers.image.version"] == "3.1.4"
    assert not list(temp.rglob("secret-*"))  # the secret's file is gone after the build


def test_github_action_failing_gate_fails_the_step_and_pushes_nothing(
        busybox_base: str, registry: TestRegistry, tls_registry: TestRegistry, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "workspace")
    commit_and_tag(repo, "v1.0.0")
    (repo / "trivy.json").write_text(json.dumps({"Results": [{"Vulnerabilities": [{"Severity": "CRITICAL"}]}]}))
    git(repo, "add", "trivy.json")
    git(repo, "commit", "-q", "-m", "scan")
    env = {**_runner_env(tmp_path, tls_registry), **github_env(repo, "v1.0.0")}
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    run = run_action(ROOT, workspace=repo, temp=temp, env=env, inputs={
        "tags": f"{registry.address}/mirror/gh-gated", "push": "true", "tags-from-git": "true",
        "build-args": f"BASE={busybox_base}", "gates": "vulnerabilities,report=trivy.json,critical=0"})
    assert not run.ok and run.steps[-1].name == "Build, gate and push" and run.steps[-1].returncode == 3
    assert "1 critical (max 0)" in run.steps[-1].stderr
    assert json.loads(run.steps[-1].outputs["metadata"])["dockyard.gates"]["passed"] is False
    assert list_tags(registry, "mirror/gh-gated") == set()


def test_gitlab_template_end_to_end(busybox_base: str, registry: TestRegistry, tls_registry: TestRegistry,
                                    tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "project")
    sha = commit_and_tag(repo, "v2.0.0")
    image = f"{tls_registry.address}/group/project"
    env = {**_runner_env(tmp_path, tls_registry), "CI": "true", "GITLAB_CI": "true", "CI_COMMIT_TAG": "v2.0.0",
           "CI_COMMIT_REF_NAME": "v2.0.0", "CI_COMMIT_SHA": sha, "CI_DEFAULT_BRANCH": "main",
           "CI_PIPELINE_SOURCE": "push", "CI_PROJECT_URL": "https://gitlab.example.com/group/project",
           "CI_PROJECT_NAME": "project", "CI_REGISTRY": tls_registry.address, "CI_REGISTRY_IMAGE": image,
           "CI_JOB_TOKEN": registries.JOB_TOKEN, "CI_PROJECT_DIR": str(repo)}
    template = ROOT / "ci" / "gitlab" / "dockyard.gitlab-ci.yml"
    out = run_gitlab_job(template, ".dockyard-build", workspace=repo, env=env, variables={
        "DOCKYARD_EXTRA_IMAGES": f"{registry.address}/mirror/gl-project",
        "DOCKYARD_BUILD_ARGS": f"BASE={busybox_base}", "DOCKYARD_GATES": "max-layers=10\nno-root-user",
        "DOCKYARD_GATE_MODE": "warn"})
    assert out.returncode == 0, out.stderr
    assert registries.JOB_TOKEN not in out.stdout + out.stderr
    assert "quality gates failed (warn mode)" in out.stderr  # busybox runs as root: reported, not blocking
    certs = ca_dir(tls_registry, tmp_path / "skopeo-certs")
    expected = {"2.0.0", "2.0", "2", "latest", f"sha-{sha[:7]}"}
    assert list_tags(tls_registry, "group/project", certs) == expected
    assert list_tags(registry, "mirror/gl-project") == expected
    digest = (repo / "dockyard.env").read_text().strip().removeprefix("DOCKYARD_DIGEST=")
    assert raw_digest(tls_registry, f"{image}:2.0.0", certs) == digest == raw_digest(
        registry, f"{registry.address}/mirror/gl-project:latest")
    got = labels(registry, f"{registry.address}/mirror/gl-project:2", "amd64")
    assert got["org.opencontainers.image.source"] == "https://gitlab.example.com/group/project"
    assert got["org.opencontainers.image.version"] == "2.0.0"

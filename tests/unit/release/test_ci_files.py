"""The CI files' structure: action.yml (composite, build-push-action's inputs, safe expressions),
the GitLab template, and the examples that use them (their inputs and variables exist)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
TEMPLATE = yaml.safe_load((ROOT / "ci" / "gitlab" / "dockyard.gitlab-ci.yml").read_text())
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
BUILD_PUSH_INPUTS = {"context", "file", "platforms", "tags", "labels", "annotations", "build-args", "secrets",
                     "secret-files", "target", "provenance", "sbom", "push", "pull", "no-cache", "outputs",
                     "cache-from", "cache-to"}


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_action_is_composite_with_build_push_inputs_and_outputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    inputs = ACTION["inputs"]
    assert BUILD_PUSH_INPUTS | {"tags-from-git", "tag-specs", "flavor", "gates", "gate-mode"} <= set(inputs)
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert isinstance(spec.get("default", ""), str), name
    assert set(ACTION["outputs"]) == {"digest", "imageid", "metadata"}


def test_action_expressions_are_known_and_never_inside_scripts() -> None:
    steps = ACTION["runs"]["steps"]
    ids = {s["id"] for s in steps if "id" in s}
    for step in steps:
        assert step["shell"] == "bash" and "run" in step
        assert "${{" not in step["run"], f"{step['name']}: pass inputs through env, never into the script"
    for text in _strings(ACTION["runs"]) + _strings(ACTION["outputs"]):
        for expr in EXPR.findall(text):
            parts = expr.split(".")
            if parts[0] == "inputs":
                assert len(parts) == 2 and parts[1] in ACTION["inputs"], expr
            elif parts[0] == "steps":
                assert len(parts) == 4 and parts[1] in ids and parts[2] == "outputs", expr
            else:
                assert expr == "github.action_path", expr


def test_every_input_reaches_a_step() -> None:
    used = {expr.split(".")[1] for text in _strings(ACTION["runs"]) for expr in EXPR.findall(text)
            if expr.startswith("inputs.")}
    assert used == set(ACTION["inputs"])


def test_gitlab_template_job_and_variables() -> None:
    job = TEMPLATE[".dockyard-build"]
    assert isinstance(job["image"], str)
    assert all(isinstance(line, str) for line in job["before_script"] + job["script"])
    variables = TEMPLATE["variables"]
    assert all(isinstance(v, str) for v in variables.values())
    used = set(re.findall(r"\$\{?(DOCKYARD_[A-Z_]+)", "\n".join(job["before_script"] + job["script"])))
    assert used <= set(variables), used - set(variables)
    assert "CI_JOB_TOKEN" in "\n".join(job["before_script"])


def test_github_example_uses_only_declared_inputs() -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "github" / "release.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    ours = [s for s in steps if str(s.get("uses", "")).endswith("/dockyard@main")]
    assert len(ours) == 1
    assert set(ours[0]["with"]) <= set(ACTION["inputs"])


def test_gitlab_example_extends_the_template_with_its_variables() -> None:
    pipeline = yaml.safe_load((ROOT / "examples" / "gitlab" / ".gitlab-ci.yml").read_text())
    assert pipeline["include"][0]["remote"].endswith("ci/gitlab/dockyard.gitlab-ci.yml")
    job = pipeline["release-image"]
    assert job["extends"] == ".dockyard-build"
    assert set(job["variables"]) <= set(TEMPLATE["variables"])

"""Run a composite GitHub Action and a GitLab CI job locally, the way their runners do.

GitHub: each ``run`` step is written to a file and run with ``bash --noprofile --norc -eo
pipefail`` in the workspace, with the step's ``env`` (``${{ inputs.* }}``, ``${{ github.* }}``
and ``${{ steps.*.outputs.* }}`` evaluated; any other expression is refused, so the action must
stay within what this runner understands), fresh GITHUB_OUTPUT/GITHUB_ENV/GITHUB_PATH files per
step, and RUNNER_TEMP. GitLab: the job's ``extends`` and ``variables`` are merged (variable values
expanded with the environment, as GitLab does), and ``before_script`` then ``script`` run in one
``sh -e`` session. Neither runner's installation steps can reach a package index here: the
tests run with dockyard and the Debian packages already installed, and check that the steps
took that path.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.steps)

    @property
    def log(self) -> str:
        return "\n".join(f"== {s.name} ({s.returncode})\n{s.stdout}{s.stderr}" for s in self.steps)


def _outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's two forms: ``name=value`` and ``name<<DELIMITER`` ... ``DELIMITER``."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def _evaluate(text: str, context: dict[str, dict[str, Any]]) -> str:
    def one(match: re.Match[str]) -> str:
        path = match.group(1).split(".")
        if path[0] == "steps" and len(path) == 4 and path[2] == "outputs":
            return str(context["steps"].get(path[1], {}).get(path[3], ""))
        if path[0] in ("inputs", "github", "runner") and len(path) == 2 and path[1] in context[path[0]]:
            return str(context[path[0]][path[1]])
        raise AssertionError(f"expression the local runner does not know: {match.group(0)}")

    return _EXPR.sub(one, text)


def run_action(action_dir: Path, *, inputs: dict[str, str], env: dict[str, str], workspace: Path,
               temp: Path) -> ActionRun:
    """Run ``action_dir``'s composite action with ``inputs`` (defaults from action.yml)."""
    action = yaml.safe_load((action_dir / "action.yml").read_text())
    unknown = set(inputs) - set(action["inputs"])
    assert not unknown, f"inputs the action does not declare: {unknown}"
    values = {name: inputs.get(name, str(spec.get("default", ""))) for name, spec in action["inputs"].items()}
    context: dict[str, dict[str, Any]] = {"inputs": values, "github": {"action_path": str(action_dir),
                                          "workspace": str(workspace)}, "runner": {"temp": str(temp)}, "steps": {}}
    base = {**env, "RUNNER_TEMP": str(temp), "GITHUB_ACTION_PATH": str(action_dir), "GITHUB_WORKSPACE": str(workspace)}
    runs: list[StepRun] = []
    for n, step in enumerate(action["runs"]["steps"]):
        assert step.get("shell") == "bash" and "run" in step, f"step {n} is not a bash run step"
        files = {key: temp / f"step{n}-{key.lower()}" for key in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
        for path in files.values():
            path.write_text("")
        step_env = {**base, **{k: str(v) for k, v in files.items()},
                    **{k: _evaluate(str(v), context) for k, v in (step.get("env") or {}).items()}}
        script = temp / f"step{n}.sh"
        script.write_text(_evaluate(step["run"], context))
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                              env=step_env, capture_output=True, text=True, timeout=600, check=False)
        outputs = _outputs(files["GITHUB_OUTPUT"])
        runs.append(StepRun(step.get("name", f"step {n}"), proc.returncode, proc.stdout, proc.stderr, outputs))
        if "id" in step:
            context["steps"][step["id"]] = outputs
        added = [line for line in files["GITHUB_PATH"].read_text().splitlines() if line]
        if added:
            base["PATH"] = os.pathsep.join([*reversed(added), base.get("PATH", "")])
        base.update(_outputs(files["GITHUB_ENV"]))
        if proc.returncode != 0:
            break
    outputs = {name: _evaluate(str(spec["value"]), context) for name, spec in action.get("outputs", {}).items()}
    return ActionRun(runs, outputs)


_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def gitlab_job(template: Path, job: str) -> dict[str, Any]:
    """The job as GitLab sees it after ``extends`` (one level, as the template uses) and global variables."""
    doc = yaml.safe_load(template.read_text())
    spec = dict(doc[job])
    parent = spec.pop("extends", None)
    if parent is not None:
        spec = {**doc[parent], **spec}
    spec["variables"] = {**(doc.get("variables") or {}), **(spec.get("variables") or {})}
    return spec


def run_gitlab_job(template: Path, job: str, *, variables: dict[str, str], env: dict[str, str],
                   workspace: Path) -> subprocess.CompletedProcess[str]:
    """``before_script`` + ``script`` in one ``sh -e`` session, with the merged, expanded variables."""
    spec = gitlab_job(template, job)
    job_env = dict(env)
    for name, value in {**spec["variables"], **variables}.items():
        job_env[name] = _VAR.sub(lambda m: job_env.get(m.group(1), ""), str(value))
    script = "\n".join([*spec.get("before_script", []), *spec["script"]])
    return subprocess.run(["sh", "-e", "-c", script], cwd=workspace, env=job_env, capture_output=True, text=True,
                          timeout=600, check=False)

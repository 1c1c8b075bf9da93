"""The answers of ``--call=outline|targets|check`` and ``--dry-run``, as data and as text.

Each function returns a JSON-ready dict (the ``--format json`` output, stable for scripts)
and a ``render_*`` function prints the same data for people. Nothing here executes a step:
the dry run shows what would run, with expanded values and cache keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.args import PLATFORM_ARGS
from dockyard.dockerfile.lint import check
from dockyard.dockerfile.plan import Plan
from dockyard.dockerfile.shell import ExpansionError, expand
from dockyard.dockerfile.stages import Dockerfile, load
from dockyard.dockerfile.syntax import parse_path
from dockyard.graph.cachekey import CacheKeys


def _from_references(df: Dockerfile, labels: tuple[str, ...]) -> set[str]:
    names: set[str] = set()
    for stage in df.stages:
        if stage.label not in labels:
            continue
        for word in (stage.base.image, stage.base.platform):
            try:
                names.update(expand(word, {}, escape=df.parsed.escape).unmatched)
            except ExpansionError:
                continue
    return names


def outline(plan: Plan) -> dict[str, Any]:  # noqa: C901, PLR0912 - --call=outline: one branch per instruction kind, as BuildKit's outline
    """Build args (default, description) the target uses, and its secrets and ssh ids."""
    df = plan.dockerfile
    labels = plan.platforms[0].stages if plan.platforms else ()
    used = _from_references(df, labels)
    args: dict[str, dict[str, Any]] = {}
    meta = {a.name: a for arg in df.meta_args for a in arg.args}
    for stage in df.stages:
        if stage.label in labels:
            for item in stage.instructions:
                if isinstance(item, ins.Arg):
                    used.update(a.name for a in item.args)
    for arg in df.meta_args:
        for a in arg.args:
            if a.name in used and a.name not in PLATFORM_ARGS:
                args[a.name] = {"name": a.name, "value": a.default, "description": a.description}
    for stage in df.stages:
        if stage.label not in labels:
            continue
        for item in stage.instructions:
            if not isinstance(item, ins.Arg):
                continue
            for a in item.args:
                if a.name in PLATFORM_ARGS or a.name in args:
                    continue
                default = a.default if a.default is not None else (meta[a.name].default if a.name in meta else None)
                args[a.name] = {"name": a.name, "value": default, "description": a.description}
    return {
        "name": plan.target.label,
        "description": plan.target.description,
        "args": list(args.values()),
        "secrets": [{"name": k, "required": v} for k, v in sorted(plan.secrets.items())],
        "ssh": [{"name": k, "required": v} for k, v in sorted(plan.ssh.items())],
    }


def render_outline(data: dict[str, Any]) -> str:
    lines = [f"TARGET:      {data['name']}"]
    if data["description"]:
        lines.append(f"DESCRIPTION: {data['description']}")
    lines.append("")
    if data["args"]:
        width = max(len("BUILD ARG"), *(len(a["name"]) for a in data["args"])) + 3
        vwidth = max(len("VALUE"), *(len(a["value"] or "<none>") for a in data["args"])) + 3
        lines.append(f"{'BUILD ARG':<{width}}{'VALUE':<{vwidth}}DESCRIPTION")
        for a in data["args"]:
            lines.append(f"{a['name']:<{width}}{a['value'] or '<none>':<{vwidth}}{a['description']}".rstrip())
        lines.append("")
    for title, key in (("SECRET", "secrets"), ("SSH", "ssh")):
        if data[key]:
            width = max(len(title), *(len(s["name"]) for s in data[key])) + 3
            lines.append(f"{title:<{width}}REQUIRED")
            lines.extend(f"{s['name']:<{width}}{str(s['required']).lower()}" for s in data[key])
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def targets(df: Dockerfile) -> dict[str, Any]:
    """The named stages (build targets) with their descriptions; the last one is the default."""
    default = df.stages[-1].label
    rows = [{"name": s.name, "description": s.description, "default": s.label == default} for s in df.stages if s.name]
    if not df.stages[-1].name:
        rows.append({"name": default, "description": "", "default": True})
    return {"targets": rows, "default": default}


def render_targets(data: dict[str, Any]) -> str:
    names = [t["name"] + (" (default)" if t["default"] else "") for t in data["targets"]]
    width = max(len("TARGET"), *(len(n) for n in names)) + 3
    lines = [f"{'TARGET':<{width}}DESCRIPTION"]
    lines.extend(f"{n:<{width}}{t['description']}".rstrip() for n, t in zip(names, data["targets"], strict=True))
    return "\n".join(lines) + "\n"


def lint(df: Dockerfile) -> dict[str, Any]:
    """Findings of the checks; ``error`` is True when the check directive asks to fail on them."""
    findings, config = check(df)
    return {
        "warnings": [{"rule": f.rule, "message": f.message, "line": f.line, "url": f.url} for f in findings],
        "error": config.error and bool(findings),
        "file": df.filename,
    }


def render_lint(data: dict[str, Any]) -> str:
    if not data["warnings"]:
        return "Check complete, no warnings found.\n"
    count = len(data["warnings"])
    lines = [f"Check complete, {count} warning{'s' if count != 1 else ''} found:"]
    lines.extend(f"{data['file']}:{w['line']}: {w['rule']}: {w['message']}" for w in data["warnings"])
    return "\n".join(lines) + "\n"


def build_warnings(dockerfile: Path) -> tuple[list[str], str | None]:
    """What buildx prints after a build for the Dockerfile's check findings (none: no lines), and
    with ``# check=error=true`` the error that stops the build before it runs: BuildKit's "lint
    violation found for rules: ..." (linter.go ``Linter.Error``)."""
    df = load(parse_path(dockerfile))
    findings, config = check(df)
    if not findings:
        return [], None
    count = len(findings)
    lines = [f" {count} warning{'s' if count != 1 else ''} found (use dockyard build --call=check to expand):"]
    lines += [f" - {f.rule}: {f.message} (line {f.line})" for f in findings]
    error = f"lint violation found for rules: {', '.join(sorted({f.rule for f in findings}))}" if config.error else None
    return lines, error


def dry_run(plan: Plan, keys: CacheKeys) -> dict[str, Any]:
    """The planned steps per platform with expanded values and cache keys (nothing runs)."""
    out: list[dict[str, Any]] = []
    for pp in plan.platforms:
        steps = [
            {
                "stage": s.stage,
                "line": s.line,
                "step": s.text,
                "key": keys.key(s.op) if s.op is not None else None,
                "op": keys.describe(s.op) if s.op is not None else None,
            }
            for s in pp.steps
        ]
        out.append(
            {
                "platform": str(pp.platform),
                "stages": list(pp.stages),
                "steps": steps,
                "result": keys.key(pp.state) if pp.state is not None else None,
                "config": pp.config.to_oci(),
            }
        )
    return {"target": plan.target.label, "platforms": out, "unused_build_args": list(plan.unused_build_args)}


def render_dry_run(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for pp in data["platforms"]:
        lines.append(f"platform {pp['platform']} (target {data['target']}; stages: {', '.join(pp['stages'])})")
        for s in pp["steps"]:
            key = s["key"][7:19] if s["key"] else "-" * 12
            text = s["step"].replace("\n", "\\n")
            lines.append(f"  {key}  {s['stage']}:{s['line']}  {text}")
        config = pp["config"]["config"]
        result = pp["result"][7:19] if pp["result"] else "scratch"
        lines.append(f"  result {result}; config: " + ", ".join(f"{k}={v}" for k, v in sorted(config.items())))
    if data["unused_build_args"]:
        lines.append("warning: build args not consumed: " + ", ".join(data["unused_build_args"]))
    return "\n".join(lines) + "\n"

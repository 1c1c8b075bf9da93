"""The answers of ``--call=outline|targets|check`` and ``--dry-run``, as data and as text.

Each function returns a JSON-ready dict (the ``--format json`` output, stable for scripts)
and a ``render_*`` function prints the same data for people. Nothing here executes a step:
the dry run shows what would run, with expanded values and cache keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.dockerfile import dockerignore
from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.args import PLATFORM_ARGS
from dockyard.dockerfile.plan import Plan
from dockyard.dockerfile.resolver import ImageResolver
from dockyard.dockerfile.shell import ExpansionError, expand
from dockyard.dockerfile.stages import Dockerfile, load
from dockyard.dockerfile.syntax import parse_path
from dockyard.errors import DockyardError
from dockyard.graph.cachekey import CacheKeys
from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform
from dockyard.selector.patterns import PatternMatcher

if TYPE_CHECKING:  # the check rules load for --call=check and real builds, not for --dry-run or outline
    from dockyard.dockerfile.lint import BaseConfig


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


def outline(plan: Plan) -> dict[str, Any]:
    """BuildKit's outline subrequest (frontend/subrequests/outline; dockerfile2llb outline.go): the build
    args the target uses, with their processed values (build args and expanded defaults), the args their
    defaults refer to (``markAllUsed``), ordered by location; the target's secrets and ssh ids."""
    df = plan.dockerfile
    labels = plan.platforms[0].stages if plan.platforms else ()
    values = plan.platforms[0].arg_values if plan.platforms else {}
    used = _from_references(df, labels)
    declared: dict[str, tuple[ins.ArgDef, int]] = {}
    for arg in df.meta_args:
        for a in arg.args:
            declared.setdefault(a.name, (a, arg.line))
    for stage in df.stages:
        if stage.label not in labels:
            continue
        for item in stage.instructions:
            if isinstance(item, ins.Arg):
                used.update(a.name for a in item.args)
                for a in item.args:
                    declared.setdefault(a.name, (a, item.line))
    pending = list(used)
    while pending:  # an arg whose default uses another one defined before it marks it used too (deps)
        name = pending.pop()
        found = declared.get(name)
        if found is None or found[0].default is None:
            continue
        for ref in _references(found[0].default, df.parsed.escape) - used:
            if ref in declared and declared[ref][1] < found[1]:  # buildMetaArgs: deps are the Matched names
                used.add(ref)
                pending.append(ref)
    args = [_omit_empty({"name": name, "description": a.description, "value": values.get(name) or "",
                         "location": _location(line)})
            for name, (a, line) in declared.items() if name in used and name not in PLATFORM_ARGS]
    args.sort(key=lambda a: a["location"]["ranges"][0]["start"]["line"])
    return _omit_empty({
        "name": plan.target.name,
        "description": plan.target.description,
        "args": args,
        "secrets": [_omit_empty({"name": k, "required": v}) for k, v in sorted(plan.secrets.items())],
        "ssh": [_omit_empty({"name": k, "required": v}) for k, v in sorted(plan.ssh.items())],
        "sources": _sources(df),
    })


def _references(word: str, escape: str) -> set[str]:
    try:
        return set(expand(word, {}, escape=escape).unmatched)
    except ExpansionError:
        return set()


def _table(rows: list[list[str]], padding: int) -> list[str]:
    """Go's text/tabwriter with minwidth 0 and ``padding``: every column but the last is padded."""
    widths = [max(len(r[i]) for r in rows) + padding for i in range(len(rows[0]) - 1)]
    return ["".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + r[-1] for r in rows]


def render_outline(data: dict[str, Any]) -> str:
    """``PrintOutline``: the target block (padding 1) when named or described, then the tables (padding 3),
    each followed by a blank line; an empty value or an optional secret prints as nothing."""
    out: list[str] = []
    if data.get("name") or data.get("description"):
        rows = [["TARGET:", data.get("name") or "(default)"]]
        if data.get("description"):
            rows.append(["DESCRIPTION:", data["description"]])
        out += [*_table(rows, 1), ""]
    if data.get("args"):
        rows = [["BUILD ARG", "VALUE", "DESCRIPTION"]]
        rows += [[a["name"], a.get("value", ""), a.get("description", "")] for a in data["args"]]
        out += [*_table(rows, 3), ""]
    for title, key in (("SECRET", "secrets"), ("SSH", "ssh")):
        if data.get(key):
            rows = [[title, "REQUIRED"]] + [[x["name"], "true" if x.get("required") else ""] for x in data[key]]
            out += [*_table(rows, 3), ""]
    return "".join(line + "\n" for line in out)


def _location(line: int, end: int | None = None) -> dict[str, Any]:
    """A pb.Location as Go's encoding/json writes it (zero fields omitted): 1-based lines."""
    return {"ranges": [{"start": {"line": line}, "end": {"line": end or line}}]}


def _omit_empty(doc: dict[str, Any]) -> dict[str, Any]:
    """Go's ``omitempty``: false, "", None and empty lists are left out."""
    return {k: v for k, v in doc.items() if v not in ("", None, False, [], {})}


def _sources(df: Dockerfile) -> list[str]:
    """``sources`` ([][]byte): the Dockerfile, base64 as encoding/json writes bytes."""
    import base64  # only for --call outline/targets

    return [base64.b64encode("\n".join(df.parsed.lines).encode()).decode()]


def targets(df: Dockerfile) -> dict[str, Any]:
    """BuildKit's targets subrequest (frontend/subrequests/targets, dockerfile2llb ``ListTargets``):
    every stage, named or not, with its description, base and platform as written; the last is the default."""
    rows = []
    for stage in df.stages:
        rows.append(_omit_empty({
            "name": stage.name, "default": stage.index == len(df.stages) - 1, "description": stage.description,
            "base": stage.base.image, "platform": stage.base.platform, "location": _location(stage.base.line),
        }))
    return {"targets": rows, "sources": _sources(df)}


def render_targets(data: dict[str, Any]) -> str:
    """``PrintTargets``: a tabwriter table (padding 1); an unnamed default is "(default)", other unnamed rows blank."""
    names = []
    for t in data["targets"]:
        name = t.get("name", "")
        if t.get("default"):
            name = f"{name} (default)" if name else "(default)"
        names.append(name)
    rows = [["TARGET", "DESCRIPTION"], *([n, t.get("description", "")] for n, t in zip(names, data["targets"],
                                                                                       strict=True))]
    return "".join(line + "\n" for line in _table(rows, 1))


def lint(df: Dockerfile, *, base_config: BaseConfig | None = None, ignore: PatternMatcher | None = None,
         build_args: Mapping[str, str] | None = None) -> dict[str, Any]:
    """BuildKit's lint subrequest (frontend/subrequests/lint ``LintResults``): warnings with rule, description,
    url, detail and location, and the source they point into; ``error`` (not in the JSON) is True when the
    check directive asks to fail on them."""
    from dockyard.dockerfile.lint import RULE_DESCRIPTIONS, check

    findings, config = check(df, base_config=base_config, ignore=ignore, build_args=build_args)
    warnings = [_omit_empty({"ruleName": f.rule, "description": RULE_DESCRIPTIONS.get(f.rule, ""), "url": f.url,
                             "detail": f.message, "location": _location(f.line)}) for f in findings]
    sources = [{"filename": df.filename, "data": _sources(df)[0], "language": "Dockerfile"}]
    return {"warnings": warnings, "sources": sources, "error": config.error and bool(findings)}


def render_lint(data: dict[str, Any]) -> str:
    """What buildx prints for ``--call=check``: a count, then per warning the rule, its URL, the detail and
    the source excerpt as solver/errdefs ``Source.Print`` draws it."""
    import base64  # only for --call=check

    warnings = data["warnings"]
    error = data.get("buildError")
    failure = [] if error is None else ["", f"ERROR: {error['message']}"]
    if error is not None and error["location"]:  # lint.go PrintErrorTo: the message, then the source
        lines = base64.b64decode(data["sources"][0]["data"]).decode().split("\n")
        line = error["location"]["ranges"][0]["start"]["line"]
        failure += _excerpt(data["sources"][0]["filename"], lines, line, line)
    if not warnings:
        return "\n".join(["Check complete, no warnings found.", *failure]) + "\n"
    count = len(warnings)
    out = [f"Check complete, {'1 warning has' if count == 1 else f'{count} warnings have'} been found!"]
    lines = base64.b64decode(data["sources"][0]["data"]).decode().split("\n")
    filename = data["sources"][0]["filename"]
    for w in warnings:
        out += ["", f"WARNING: {w['ruleName']}" + (f" - {w['url']}" if w.get("url") else ""), w["detail"]]
        line = w["location"]["ranges"][0]["start"]["line"]
        out += _excerpt(filename, lines, line, w["location"]["ranges"][0]["end"]["line"])
    return "\n".join([*out, *failure]) + "\n"


def _excerpt(filename: str, lines: list[str], start: int, end: int) -> list[str]:
    """errdefs ``Source.Print``: two lines of context (four for a one-line range), ``>>>`` on the range."""
    if start < 1 or start > len(lines):
        return []
    first, last = start, min(end, len(lines))
    pad = 4 if last == first else 2
    p = 0
    while p < pad:
        if first > 1:
            first -= 1
            p += 1
        if last != len(lines):
            last += 1
            p += 1
        p += 1
    out = [f"{filename}:{start}", "-" * 20]
    out += [f" {i:3d} | {'>>>' if start <= i <= end else '   '} {lines[i - 1]}" for i in range(first, last + 1)]
    return [*out, "-" * 20]


def readable(resolver: ImageResolver) -> BaseConfig:
    """Base configs for the check rules, None where a registry cannot be read (the rules then know
    only PATH for that base; BuildKit would fail instead)."""

    def config(ref: str, platform: Platform) -> ImageConfig | None:
        try:
            return resolver.image_config(ref, platform)
        except DockyardError:
            return None

    return config


def build_warnings(dockerfile: Path, context: Path, *, resolver: ImageResolver | None = None,
                   build_args: Mapping[str, str] | None = None) -> tuple[list[str], str | None]:
    """What buildx prints after a build for the Dockerfile's check findings (none: no lines), and
    with ``# check=error=true`` the error that stops the build before it runs: BuildKit's "lint
    violation found for rules: ..." (linter.go ``Linter.Error``)."""
    from dockyard.dockerfile.lint import check

    df = load(parse_path(dockerfile))
    findings, config = check(df, base_config=readable(resolver) if resolver is not None else None,
                             ignore=PatternMatcher(dockerignore.load_for(context, dockerfile)), build_args=build_args)
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
                "config": _planned_config(pp.config),
            }
        )
    return {"target": plan.target.label, "platforms": out, "unused_build_args": list(plan.unused_build_args)}


def _planned_config(config: ImageConfig) -> dict[str, Any]:
    """The config as planned: no ``rootfs`` yet (the node adds the layers it builds)."""
    return {key: value for key, value in config.to_json().items() if key != "rootfs"}


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

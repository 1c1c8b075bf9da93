"""A build request as the CLI (or a library user) states it, and the non-executing answers.

``dockyard build --call=outline|targets|check`` and ``--dry-run`` are answered here from the
Dockerfile and context alone; a real build goes to the engine (:mod:`dockyard.phases.build`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.dockerfile import calls, dockerignore
from dockyard.dockerfile.plan import plan
from dockyard.dockerfile.resolver import ImageResolver
from dockyard.dockerfile.stages import Dockerfile, load
from dockyard.dockerfile.syntax import parse_path
from dockyard.errors import DockerfileError, UsageError
from dockyard.graph.contenthash import StatCache
from dockyard.platform import Platform
from dockyard.selector.errors import SelectionError, explain
from dockyard.selector.patterns import PatternMatcher

CALLS = ("build", "outline", "targets", "check")
FORMATS = ("text", "json")


@dataclass(frozen=True, kw_only=True)
class BuildRequest:
    """What to plan; ``call`` is build|outline|targets|check, ``fmt`` text|json."""

    context: Path
    dockerfile: Path
    platforms: tuple[Platform, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    call: str = "build"
    fmt: str = "text"
    dry_run: bool = False
    build_platform: Platform | None = None


@dataclass(frozen=True)
class Answer:
    """Text to print on stdout and the exit code."""

    output: str
    exit_code: int = 0


def _emit(data: dict[str, object], fmt: str, text: str) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n" if fmt == "json" else text


def _check(request: BuildRequest, df: Dockerfile, resolver: ImageResolver | None) -> Answer:
    """``--call=check``: the rules, then the conversion of every stage (BuildKit's DockerfileLint sets
    AllStages when no target is given), whose error becomes the check's ``buildError``."""
    data = calls.lint(df, base_config=calls.readable(resolver) if resolver is not None else None,
                      ignore=PatternMatcher(dockerignore.load_for(request.context, request.dockerfile)),
                      build_args=request.build_args)
    try:
        plan(request.dockerfile, request.context, platforms=request.platforms, build_args=request.build_args,
             target=request.target, build_platform=request.build_platform, all_stages=request.target is None)
    except DockerfileError as exc:
        where = f"{exc.file}:{exc.line}: " if exc.file and exc.line else (f"{exc.file}: " if exc.file else "")
        data["buildError"] = {"message": exc.message.removeprefix(where),
                              "location": {"ranges": [{"start": {"line": exc.line}, "end": {"line": exc.line}}]}
                              if exc.line else {}}
    failed = bool(data["warnings"]) or "buildError" in data
    shown = {k: v for k, v in data.items() if k != "error"}
    return Answer(_emit(shown, request.fmt, calls.render_lint(data)), 1 if failed else 0)


def answer(request: BuildRequest, *, resolver: ImageResolver | None = None,
           stat_cache: StatCache | None = None) -> Answer:
    """Answer a call or a dry run; a real build is refused (the engine runs it).

    ``stat_cache`` gives a dry run the context file digests a build already took (by path, size,
    times and inode), so that it stats the context instead of reading every file again."""
    if request.call not in CALLS:
        raise UsageError(f"unknown --call value {request.call!r}", hint="use build, outline, targets or check")
    if request.fmt not in FORMATS:
        raise UsageError(f"unknown --format value {request.fmt!r}", hint="use text or json")
    if not request.context.is_dir():
        raise UsageError(f"build context {str(request.context)!r} is not a directory")
    if request.call in ("targets", "check"):
        df = load(parse_path(request.dockerfile))
        if request.call == "targets":
            data = calls.targets(df)
            return Answer(_emit(data, request.fmt, calls.render_targets(data)))
        return _check(request, df, resolver)
    if request.call == "build" and not request.dry_run:
        raise UsageError(
            "the frontend does not execute builds: executing a build is the engine's job",
            hint="call dockyard.phases.build.build(), or use --dry-run / --call=outline|targets|check",
        )
    result = plan(
        request.dockerfile,
        request.context,
        platforms=request.platforms,
        build_args=request.build_args,
        target=request.target,
        resolver=resolver,
        build_platform=request.build_platform,
    )
    if request.call == "outline":
        data = calls.outline(result)
        return Answer(_emit(data, request.fmt, calls.render_outline(data)))
    keys = result.cache_keys(stat_cache=stat_cache)
    for pp in result.platforms:
        for step in pp.steps:
            if step.op is None:
                continue
            try:
                keys.key(step.op)
            except SelectionError as exc:
                raise DockerfileError(
                    f"{step.text}: {explain(exc)}",
                    file=result.dockerfile.filename,
                    line=step.line,
                ) from None
    data = calls.dry_run(result, keys)
    return Answer(_emit(data, request.fmt, calls.render_dry_run(data)))

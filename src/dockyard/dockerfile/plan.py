"""``plan()``: the frontend's one entry point, from a Dockerfile to per-platform graphs.

The engine calls :func:`plan` and gets a :class:`Plan`: for every target platform the final
filesystem state (a graph of :mod:`dockyard.graph.ops`), the image config to write with it,
and the ordered steps (for progress output and ``--dry-run``). Cache keys are computed on
demand with :meth:`Plan.cache_keys`, because hashing context files is the expensive part
and outline/check calls never need it.

Executing a plan::

    p = plan(Path("Dockerfile"), Path("."), platforms=[...], build_args={...}, resolver=images)
    keys = p.cache_keys(stat_cache=StatCache.load(path))   # reuse file digests across builds
    for pp in p.platforms:                                 # one subgraph per platform
        for op in topological([pp.state]):                # inputs first, each op once
            run(op, key=keys.key(op))                      # same key = same work: run once
        write_image(pp.config, result_of(pp.state))

Each platform's ops are separate objects, but work shared by platforms (a stage with
``FROM --platform=$BUILDPLATFORM``) has equal keys, so deduplicating by key builds it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.dockerfile import dockerignore
from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.args import PLATFORM_ARGS, global_scope, platform_args
from dockyard.dockerfile.convert import StageConverter, StageResult
from dockyard.dockerfile.resolver import ImageResolver
from dockyard.dockerfile.sbomscan import ScannedStage, ScanRequest, ScanTargets, scan_targets
from dockyard.dockerfile.scope import Step
from dockyard.dockerfile.stages import Dockerfile, Stage, load
from dockyard.dockerfile.syntax import parse_path, parse_text
from dockyard.errors import DockerfileError
from dockyard.graph.cachekey import CacheKeys
from dockyard.graph.contenthash import ContextHasher, SourceNotFoundError, StatCache
from dockyard.graph.ops import ContextSource, State
from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform


@dataclass(frozen=True)
class PlatformPlan:
    """The build for one target platform: final state, image config and steps (deps first)."""

    platform: Platform
    state: State
    config: ImageConfig
    steps: tuple[Step, ...]
    stages: tuple[str, ...]
    arg_values: Mapping[str, str | None] = field(default_factory=dict)  # processed ARG values (for outline)
    sbom: ScanTargets = field(default_factory=ScanTargets)  # stages/context an SBOM describes too (sbomscan)


@dataclass(frozen=True)
class Plan:
    """Everything the engine needs for one build; see the module docstring."""

    dockerfile: Dockerfile
    target: Stage
    context: ContextSource
    context_dir: Path | None
    platforms: tuple[PlatformPlan, ...]
    secrets: Mapping[str, bool] = field(default_factory=dict)
    ssh: Mapping[str, bool] = field(default_factory=dict)
    unused_build_args: tuple[str, ...] = ()

    def cache_keys(self, *, stat_cache: StatCache | None = None) -> CacheKeys:
        """A key calculator hashing this plan's context (a :class:`CacheKeys`)."""
        hasher = ContextHasher(self.context_dir, cache=stat_cache) if self.context_dir is not None else None
        return CacheKeys(hasher)


def _load(source: Path | str, filename: str | None) -> Dockerfile:
    if isinstance(source, Path):
        return load(parse_path(source))
    return load(parse_text(source, filename=filename or "Dockerfile"))


def plan(
    source: Path | str,
    context_dir: Path | None = None,
    *,
    platforms: Sequence[Platform] = (),
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    resolver: ImageResolver | None = None,
    build_platform: Platform | None = None,
    filename: str | None = None,
    ignore_patterns: Sequence[str] | None = None,
    all_stages: bool = False,
    sbom_scan: ScanRequest | None = None,
) -> Plan:
    """Plan a build.

    ``source`` is a Dockerfile path (``Path``) or its text (``str``; ``filename`` names it in
    errors). ``platforms`` defaults to the build platform (the host). ``ignore_patterns``
    overrides reading ``.dockerignore`` / ``<Dockerfile>.dockerignore`` from disk.
    ``all_stages`` converts every stage, not only those the target needs (for ``--call=check``).
    ``sbom_scan`` (an SBOM is made) names, per platform, the other stages and whether the context
    it describes too (:mod:`dockyard.dockerfile.sbomscan`).
    Raises :class:`~dockyard.errors.DockerfileError` (one line, ``FILE:LINE``) on bad input.
    """
    df = _load(source, filename)
    build = build_platform or Platform.host()
    targets = tuple(platforms) or (build,)
    args = dict(build_args or {})
    stage = df.target(target)
    if ignore_patterns is None:
        dockerfile_path = source if isinstance(source, Path) else None
        ignore_patterns = [] if context_dir is None else dockerignore.load_for(context_dir, dockerfile_path)
    context = ContextSource(name="context", excludes=tuple(ignore_patterns), description="load build context")
    results: list[PlatformPlan] = []
    secrets: dict[str, bool] = {}
    ssh: dict[str, bool] = {}
    declared: set[str] = set()
    for platform in targets:
        automatic = platform_args(platform, build, stage=target or df.stages[-1].name)
        automatic.update((k, v) for k, v in args.items() if k in automatic)  # defaultArgs' overrides
        scope, meta_values = global_scope(
            df.meta_args, build_args=args, automatic=automatic, filename=df.filename, escape=df.parsed.escape
        )
        conv = StageConverter(
            df,
            platform=platform,
            build_platform=build,
            global_env=scope,
            meta_values=meta_values,
            build_args=args,
            automatic=automatic,
            context=context,
            resolver=resolver,
        )
        try:
            final = conv.stage_result(stage, None)
            for other in df.stages if all_stages else ():  # --call=check converts every stage, as BuildKit's lint
                conv.stage_result(other, None)
        except RecursionError:  # COPY --from chains: FROM chains are walked without recursion
            raise DockerfileError("stages depend on each other too deeply to plan (a chain of hundreds)",
                                  file=df.filename, hint="merge stages, or copy from fewer stages in a row") from None
        steps = tuple(step for result in conv.order for step in result.steps)
        results.append(
            PlatformPlan(
                platform=platform,
                state=final.state,
                config=final.config,
                steps=steps,
                stages=tuple(conv.usage.stages),
                arg_values={**meta_values, **{k: v for r in conv.order for k, v in r.build_args}},
                sbom=ScanTargets() if sbom_scan is None else _scanned(df, conv.order, final, meta_values, sbom_scan),
            )
        )
        for name, required in conv.usage.secrets.items():
            secrets[name] = secrets.get(name, False) or required
        for name, required in conv.usage.ssh.items():
            ssh[name] = ssh.get(name, False) or required
        declared.update(meta_values)
        for result in conv.order:
            for item in result.stage.instructions:
                if isinstance(item, ins.Arg):
                    declared.update(a.name for a in item.args)
    unused = tuple(sorted(n for n in args if n not in declared and n not in PLATFORM_ARGS))
    return Plan(
        dockerfile=df,
        target=stage,
        context=context,
        context_dir=context_dir,
        platforms=tuple(results),
        secrets=secrets,
        ssh=ssh,
        unused_build_args=unused,
    )


def _scanned(df: Dockerfile, order: Sequence[StageResult], final: StageResult, meta: Mapping[str, str | None],
             request: ScanRequest) -> ScanTargets:
    def seen(result: StageResult) -> ScannedStage:  # BuildKit names no stage of a one-stage Dockerfile
        return ScannedStage(result.stage.label if len(df.stages) > 1 else "", result.state, result.build_args)

    return scan_targets([seen(r) for r in order], seen(final), meta=meta, request=request)


__all__ = ["Plan", "PlatformPlan", "SourceNotFoundError", "Step", "plan"]

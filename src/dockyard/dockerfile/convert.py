"""Stages to graph: expand each instruction for one target platform and emit ops and config.

A :class:`StageConverter` handles one (Dockerfile, target platform) pair. It converts a
stage only when something needs it (the target, a ``FROM stage``, a ``COPY --from`` or a
``RUN --mount from=``), so unused stages are never planned, and it detects dependency cycles
while doing so. Instruction handlers live in :mod:`dockyard.dockerfile.dispatch`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.args import PLATFORM_ARGS
from dockyard.dockerfile.imageconfig import HistoryEntry, ImageConfig
from dockyard.dockerfile.resolver import ImageResolver
from dockyard.dockerfile.shell import ExpansionError, expand
from dockyard.dockerfile.stages import Dockerfile, Stage
from dockyard.dockerfile.syntax import parse_trigger
from dockyard.errors import DockerfileError, UsageError
from dockyard.graph.ops import ContextSource, ImageSource, Op, State
from dockyard.platform import Platform

_REF_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


@dataclass(frozen=True)
class Step:
    """One planned instruction: where it is, what it does (expanded), and its op if any."""

    stage: str
    line: int
    text: str
    op: Op | None = None


@dataclass(frozen=True)
class StageResult:
    """A converted stage: its final filesystem, image config and steps (its own only)."""

    stage: Stage
    platform: Platform
    state: State
    config: ImageConfig
    steps: tuple[Step, ...]


@dataclass
class StageScope:
    """Mutable working state while one stage is converted (never escapes the converter)."""

    stage: Stage
    platform: Platform
    state: State
    config: ImageConfig
    args: dict[str, str | None] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    config_changed_cmd: bool = False
    args_version: int = 0
    _env_cache: tuple[ImageConfig, int, dict[str, str]] | None = None

    def add_history(self, created_by: str, *, empty_layer: bool) -> None:
        """Collected here and attached once at the end (rebuilding the config each time is slow)."""
        self.history.append(HistoryEntry(created_by=created_by, empty_layer=empty_layer))

    def final_config(self) -> ImageConfig:
        return replace(self.config, history=(*self.config.history, *self.history))

    def expansion_env(self) -> dict[str, str]:
        """ARGs with values, overridden by ENV (BuildKit's rule); cached until either changes.

        The returned dict is shared: callers read it and must not modify it.
        """
        cached = self._env_cache
        if cached is not None and cached[0] is self.config and cached[1] == self.args_version:
            return cached[2]
        env = {k: v for k, v in self.args.items() if v is not None}
        env.update(self.config.env_map())
        self._env_cache = (self.config, self.args_version, env)
        return env

    def set_arg(self, name: str, value: str | None) -> None:
        self.args[name] = value
        self.args_version += 1


@dataclass
class Usage:
    """What the planned stages use: secrets and ssh ids (for ``--call=outline``), stages in order."""

    secrets: dict[str, bool] = field(default_factory=dict)
    ssh: dict[str, bool] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)


class StageConverter:
    """Converts the stages one target platform needs; results are memoised per stage."""

    def __init__(
        self,
        dockerfile: Dockerfile,
        *,
        platform: Platform,
        build_platform: Platform,
        global_env: Mapping[str, str],
        meta_values: Mapping[str, str | None],
        build_args: Mapping[str, str],
        automatic: Mapping[str, str],
        context: ContextSource,
        resolver: ImageResolver | None,
    ) -> None:
        self.df = dockerfile
        self.platform = platform
        self.build_platform = build_platform
        self.global_env = dict(global_env)
        self.meta_values = dict(meta_values)
        self.build_args = dict(build_args)
        self.automatic = dict(automatic)
        self.context = context
        self.resolver = resolver
        self.results: dict[int, StageResult] = {}
        self.order: list[StageResult] = []
        self.usage = Usage()
        self._active: list[int] = []

    @property
    def escape(self) -> str:
        return self.df.parsed.escape

    def fail(self, message: str, line: int | None, hint: str | None = None) -> DockerfileError:
        return DockerfileError(message, file=self.df.filename, line=line, hint=hint)

    # -- expansion -----------------------------------------------------------------------

    def expand(self, word: str, env: Mapping[str, str], line: int) -> str:
        try:
            return expand(word, env, escape=self.escape).text
        except ExpansionError as exc:
            raise self.fail(str(exc), line) from None

    # -- stage references ----------------------------------------------------------------

    def lookup_stage(self, ref: str, line: int, *, current: Stage) -> Stage | None:
        """The stage ``ref`` names (by name, or by index for earlier stages), else None (an image)."""
        if ref.isdigit():
            index = int(ref)
            if index >= current.index:
                raise self.fail(
                    f"invalid stage reference {ref!r}: stage index {index} is not an earlier "
                    f"stage (this is stage {current.index})",
                    line,
                )
            return self.df.stages[index]
        return self.df.find(ref)

    def stage_result(self, stage: Stage, line: int | None) -> StageResult:
        if stage.index in self.results:
            return self.results[stage.index]
        if stage.index in self._active:
            chain = " -> ".join(self.df.stages[i].label for i in [*self._active, stage.index])
            raise self.fail(f"circular dependency detected on stage {stage.label!r} ({chain})", line)
        self._convert_from_chain(stage)
        self._active.append(stage.index)
        try:
            result = self._convert(stage)
        finally:
            self._active.pop()
        self.results[stage.index] = result
        self.order.append(result)
        self.usage.stages.append(stage.label)
        return result

    def source_for(self, ref: str, line: int, *, scope: StageScope) -> tuple[State, Platform]:
        """The filesystem a ``--from``/``from=`` names: a stage, or an image for this platform."""
        stage = self.lookup_stage(ref, line, current=scope.stage)
        if stage is not None:
            result = self.stage_result(stage, line)
            return result.state, result.platform
        self.check_ref(ref, ref, line)
        image = ImageSource(ref=ref, platform=scope.platform, line=line, description=f"image {ref}")
        return image, scope.platform

    def check_ref(self, ref: str, written: str, line: int, unmatched: frozenset[str] = frozenset()) -> None:
        if not ref:
            raise self.fail(
                f"base name ({written}) should not be blank: declare the ARG before the first FROM or pass --build-arg",
                line,
            )
        if not _REF_RE.match(ref):
            undefined = f" (undefined ARG {', '.join(sorted(unmatched))})" if unmatched else ""
            raise self.fail(f"invalid image reference {ref!r} from {written!r}{undefined}", line)

    # -- one stage -----------------------------------------------------------------------

    def _convert_from_chain(self, stage: Stage) -> None:
        """Convert the stages ``stage`` is built FROM, deepest first, before ``stage`` itself.

        Converting a stage converts its FROM stage first; done by recursion alone, a Dockerfile of
        a thousand stages each FROM the one before would exhaust Python's recursion limit (BuildKit,
        in Go, has no such limit). Walking the chain here keeps each recursion one level deep.
        """
        chain: list[Stage] = []
        seen = {stage.index}
        current = stage
        while (parent := self._from_stage(current)) is not None and parent.index not in seen \
                and parent.index not in self.results and parent.index not in self._active:
            chain.append(parent)
            seen.add(parent.index)
            current = parent
        for child, parent in reversed(list(zip([stage, *chain], chain, strict=False))):
            self.stage_result(parent, child.base.line)

    def _from_stage(self, stage: Stage) -> Stage | None:
        """The stage that ``stage``'s FROM names, if it names one (errors are left to :meth:`_base`)."""
        try:
            ref = expand(stage.base.image, self.global_env, escape=self.escape).text
        except ExpansionError:
            return None
        return self._parent_of(ref, stage)

    def _parent_of(self, ref: str, stage: Stage) -> Stage | None:
        parent = self.df.find(ref) if ref and ref.lower() != stage.name else None
        return parent if parent is not None and parent.index != stage.index else None

    def _base(self, stage: Stage) -> StageScope:
        base = stage.base
        try:
            image = expand(base.image, self.global_env, escape=self.escape)
        except ExpansionError as exc:
            raise self.fail(str(exc), base.line) from None
        ref = image.text
        platform = self.platform
        if base.platform:
            text = self.expand(base.platform, self.global_env, base.line)
            try:
                platform = Platform.parse(text)
            except UsageError as exc:
                raise self.fail(f"FROM --platform: {exc.message}", base.line) from None
        parent = self._parent_of(ref, stage)
        if parent is not None:
            result = self.stage_result(parent, base.line)
            config = replace(result.config, platform=result.platform)
            scope = StageScope(stage, result.platform, result.state, config)
        elif ref.lower() == "scratch":
            scope = StageScope(stage, platform, None, ImageConfig(platform=platform))
        else:
            self.check_ref(ref, base.image, base.line, image.unmatched)
            found = self.resolver.image_config(ref, platform) if self.resolver is not None else None
            config = ImageConfig.from_oci(found, platform) if found else ImageConfig(platform=platform)
            source = ImageSource(ref=ref, platform=platform, line=base.line, description=f"FROM {ref}")
            scope = StageScope(stage, platform, source, config)
        shown = f"FROM --platform={platform} {ref}" if base.platform else f"FROM {ref}"
        scope.steps.append(Step(stage.label, base.line, shown, scope.state))
        return scope

    def _convert(self, stage: Stage) -> StageResult:
        from dockyard.dockerfile.decode import decode
        from dockyard.dockerfile.dispatch import dispatch

        scope = self._base(stage)
        triggers = scope.config.onbuild
        if triggers:
            scope.config = replace(scope.config, onbuild=())
            for trigger in triggers:
                raw = parse_trigger(trigger, filename=self.df.filename, line=stage.base.line)
                first = len(scope.steps)
                dispatch(self, scope, decode(raw, filename=self.df.filename, comments={}))
                scope.steps[first:] = [replace(s, text=f"ONBUILD {s.text}") for s in scope.steps[first:]]
        for item in stage.instructions:
            dispatch(self, scope, item)
        return StageResult(stage, scope.platform, scope.state, scope.final_config(), tuple(scope.steps))

    def declare_arg(self, scope: StageScope, arg: ins.Arg) -> None:
        """ARG inside a stage: build arg, else default, else the global value or automatic one."""
        for item in arg.args:
            if item.name in self.build_args:
                value: str | None = self.build_args[item.name]
            elif item.default is not None:
                value = self.expand(item.default, scope.expansion_env(), arg.line)
            elif item.name in self.meta_values:
                value = self.meta_values[item.name]
            elif item.name in PLATFORM_ARGS:
                value = self.automatic[item.name]
            else:
                value = None
            scope.set_arg(item.name, value)

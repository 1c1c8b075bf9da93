"""Stages to graph: expand each instruction for one target platform and emit ops and config.

A :class:`StageConverter` handles one (Dockerfile, target platform) pair. It converts a
stage only when something needs it (the target, a ``FROM stage``, a ``COPY --from`` or a
``RUN --mount from=``), so unused stages are never planned, and it detects dependency cycles
while doing so. Instruction handlers live in :mod:`dockyard.dockerfile.dispatch`; they see the
converter only as the :class:`~dockyard.dockerfile.scope.Converter` protocol, so they never
import this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.decode import decode
from dockyard.dockerfile.dispatch import dispatch
from dockyard.dockerfile.resolver import ImageResolver
from dockyard.dockerfile.sbomscan import NON_ENV_ARGS
from dockyard.dockerfile.scope import StageScope, Step, Usage, base_config, scratch_config
from dockyard.dockerfile.shell import ExpansionError, expand
from dockyard.dockerfile.stages import Dockerfile, Stage
from dockyard.dockerfile.syntax import parse_trigger
from dockyard.errors import DockerfileError, UsageError
from dockyard.graph.ops import ContextSource, ImageSource, State
from dockyard.oci.config import ImageConfig
from dockyard.platform import Platform
from dockyard.reference import Reference


@dataclass(frozen=True)
class StageResult:
    """A converted stage: its final filesystem, image config and steps (its own only).

    ``build_env`` and ``build_args`` are what a stage built ``FROM`` this one inherits (BuildKit's
    ``dispatchState.init`` copies the LLB state, whose env holds ARG values too, and ``buildArgs``).
    """

    stage: Stage
    platform: Platform
    state: State
    config: ImageConfig
    steps: tuple[Step, ...]
    build_env: tuple[tuple[str, str], ...] = ()
    build_args: tuple[tuple[str, str | None], ...] = ()


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

    def expand(self, word: str, env: Mapping[str, str], line: int, *, escape: str | None = None,
               skip_quotes: bool = False) -> str:
        try:
            return expand(word, env, escape=escape or self.escape, skip_quotes=skip_quotes).text
        except ExpansionError as exc:
            raise self.fail(str(exc), line) from None

    def expand_words(self, word: str, env: Mapping[str, str], line: int) -> tuple[str, ...]:
        """``word`` expanded and split on unquoted blanks (BuildKit ``ProcessWords``)."""
        try:
            return expand(word, env, escape=self.escape).words
        except ExpansionError as exc:
            raise self.fail(str(exc), line) from None

    # -- stage references ----------------------------------------------------------------

    def lookup_stage(
        self, ref: str, line: int, *, current: Stage, by_index: bool, mount_target: str = ""
    ) -> Stage | None:
        """The stage a ``COPY --from`` (``by_index``: a number names a stage too) or ``--mount from=``
        names, else None (an image). BuildKit resolves these names in the final table
        (``findStateByName``; ``detectRunMount`` knows no indexes) and refuses a stage that is not
        dispatched yet (``dispatch``: "cannot copy from stage ..."; ``dispatchRunMounts``)."""
        if by_index and ref.isdigit():
            index = int(ref)
            if index >= len(self.df.stages):
                raise self.fail(f"invalid stage index {index}", line)
            stage: Stage | None = self.df.stages[index]
        else:
            stage = self.df.find(ref)
        if stage is None or stage.index < current.index:
            return stage
        if stage.index == current.index:
            raise self.fail(f"circular dependency detected on stage: {current.label}", line)
        self.stage_result(stage, line)  # a cycle is reported as one first (validateCircularDependency)
        if mount_target:
            raise self.fail(f"cannot mount from stage {ref!r} to {mount_target!r}, stage needs to be defined "
                            "before current command", line)
        raise self.fail(f"cannot copy from stage {ref!r}, it needs to be defined before current stage "
                        f"{current.label!r}", line)

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

    def source_for(self, ref: str, line: int, *, scope: StageScope, mount_target: str = "") -> tuple[State, Platform]:
        """The filesystem a ``--from``/``from=`` names: a stage, or an image for this platform."""
        stage = self.lookup_stage(ref, line, current=scope.stage, by_index=not mount_target,
                                  mount_target=mount_target)
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
        try:
            Reference.parse(ref)
        except UsageError:
            undefined = f" (undefined ARG {', '.join(sorted(unmatched))})" if unmatched else ""
            raise self.fail(f"invalid image reference {ref!r} from {written!r}{undefined}", line) from None

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
        return self.df.parent(stage, ref)

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
        parent = self.df.parent(stage, ref)
        if parent is not None:
            result = self.stage_result(parent, base.line)
            # ONBUILD triggers do not carry over from a base stage (BuildKit dispatchState.init)
            config = result.config.with_container(on_build=())
            scope = StageScope(stage, result.platform, result.state, config, build_env=dict(result.build_env),
                               build_args=list(result.build_args))
        elif ref.lower() == "scratch":
            scope = StageScope(stage, platform, None, scratch_config(platform))
        else:
            self.check_ref(ref, base.image, base.line, image.unmatched)
            found = self.resolver.image_config(ref, platform) if self.resolver is not None else None
            config = base_config(found, platform) if found else scratch_config(platform)
            source = ImageSource(ref=ref, platform=platform, line=base.line, description=f"FROM {ref}")
            scope = StageScope(stage, platform, source, config)
        shown = f"FROM --platform={platform} {ref}" if base.platform else f"FROM {ref}"
        scope.steps.append(Step(stage.label, base.line, shown, scope.state))
        return scope

    def _convert(self, stage: Stage) -> StageResult:
        scope = self._base(stage)
        triggers = scope.config.config.on_build
        if triggers:
            scope.config = scope.config.with_container(on_build=())
            for trigger in triggers:
                raw = parse_trigger(trigger, filename=self.df.filename, line=stage.base.line)
                first = len(scope.steps)
                dispatch(self, scope, decode(raw, filename=self.df.filename, comments={}))
                scope.steps[first:] = [replace(s, text=f"ONBUILD {s.text}") for s in scope.steps[first:]]
        for item in stage.instructions:
            dispatch(self, scope, item)
        return StageResult(stage, scope.platform, scope.state, scope.final_config(), tuple(scope.steps),
                           tuple(scope.build_env.items()), tuple(scope.build_args))

    def declare_arg(self, scope: StageScope, arg: ins.Arg) -> None:
        """ARG inside a stage, as BuildKit's ``dispatchArg``: a build arg, else the default (expanded
        now), else the global or automatic value; a value goes into the build env."""
        for item in arg.args:
            if item.name in self.build_args:
                value: str | None = self.build_args[item.name]
            elif item.default is not None:
                value = self.expand(item.default, scope.expansion_env(), arg.line)
            elif item.name in self.meta_values:
                value = self.meta_values[item.name]
            else:
                value = self.automatic.get(item.name)
            if value is not None and item.name not in NON_ENV_ARGS:  # BuildKit dispatchArg's nonEnvArgs
                scope.set_env(item.name, value)
            scope.build_args.append((item.name, value))

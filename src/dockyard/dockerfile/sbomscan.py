"""Which stages (and whether the build context) an SBOM also describes: BuildKit's
``BUILDKIT_SBOM_SCAN_STAGE`` / ``BUILDKIT_SBOM_SCAN_CONTEXT`` rules, and ``--attest type=sbom,scan-stage=``.

BuildKit (moby/buildkit ``frontend/dockerfile/dockerfile2llb/convert.go``) decides per stage in
``toDispatchState``: a stage scans when the meta ``ARG`` (before the first FROM) or an ``ARG``
of the stage itself (inherited from a base stage too) has a value that ``isEnabledForStage``
accepts: a Go boolean (``true``/``1``/``t``...), or a comma-separated list naming the stage. A
``--build-arg`` only changes the value of an ``ARG`` the Dockerfile declares. ``Dockerfile2LLB``
then adds, besides the final image (always scanned), every *other stage the target reaches*
(``allReachableStages``: FROM and ``COPY --from``/mounts, so a stage that is not built is never
scanned) that scans, under the stage's name (``stage-N`` when unnamed), and the build context
when the *target* stage scans the context. These two ARGs never reach a RUN step's environment
(``nonEnvArgs``, :data:`NON_ENV_ARGS`).

``--attest type=sbom,scan-stage=VALUE`` (``scan-context=VALUE``) is dockyard's flag for the same
choice (in BuildKit these keys are only passed to the scanner image, which dockyard does not
have): VALUE as above, applied to every stage the target reaches, Dockerfile ARGs or not; given,
it replaces what the Dockerfile says, so ``scan-stage=false`` turns off stage scanning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockyard.graph.ops import State

SCAN_CONTEXT = "BUILDKIT_SBOM_SCAN_CONTEXT"
SCAN_STAGE = "BUILDKIT_SBOM_SCAN_STAGE"
NON_ENV_ARGS = frozenset({SCAN_CONTEXT, SCAN_STAGE})

# Go's strconv.ParseBool
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def enabled_for(stage: str, value: str) -> bool:
    """BuildKit's ``isEnabledForStage``: a Go boolean, else whether the comma list names ``stage``."""
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    return stage in value.split(",")


@dataclass(frozen=True, kw_only=True)
class ScanRequest:
    """The flag's say (``scan-stage=``/``scan-context=`` values; None: the Dockerfile's ARGs decide)."""

    stage: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class ScannedStage:
    """One stage the target reaches; ``args`` are its ARG values as BuildKit's ``buildArgs`` holds them."""

    name: str  # the stage name, ``stage-N`` when unnamed ("" in a one-stage Dockerfile, as BuildKit)
    state: State
    args: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class ScanTargets:
    """What the SBOM describes besides the final image: ``stages`` (name, filesystem) and the context."""

    stages: tuple[tuple[str, State], ...] = ()
    context: bool = False


def _arg_enabled(name: str, var: str, meta: Mapping[str, str | None], args: Sequence[tuple[str, str | None]]) -> bool:
    on = False
    global_value = meta.get(var)
    if global_value is not None:
        on = enabled_for(name, global_value)
    for key, value in args:  # the stage's own ARGs, last one wins
        if key == var and value is not None:
            on = enabled_for(name, value)
    return on


def scan_targets(reached: Sequence[ScannedStage], target: ScannedStage, *, meta: Mapping[str, str | None],
                 request: ScanRequest) -> ScanTargets:
    """The stages (other than ``target``) and context to scan; see the module docstring."""
    stages = []
    for stage in reached:
        if stage.name == target.name:
            continue
        on = (enabled_for(stage.name, request.stage) if request.stage is not None
              else _arg_enabled(stage.name, SCAN_STAGE, meta, stage.args))
        if on:
            stages.append((stage.name, stage.state))
    context = (enabled_for(target.name, request.context) if request.context is not None
               else _arg_enabled(target.name, SCAN_CONTEXT, meta, target.args))
    return ScanTargets(stages=tuple(stages), context=context)

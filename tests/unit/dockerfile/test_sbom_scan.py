"""Which stages an SBOM describes besides the final image, and whether the context: BuildKit's rules.

Pinned against moby/buildkit frontend/dockerfile/dockerfile2llb/convert.go: ``toDispatchState``
(the meta ARG, then the stage's own ARGs, each through ``isEnabledForStage``), ``Dockerfile2LLB``
(every other stage ``allReachableStages`` finds; the context when the target scans it), the
``stage-N`` name of an unnamed stage, and ``nonEnvArgs`` (the two ARGs never reach a RUN's env);
the Dockerfile cases are those of frontend/dockerfile/dockerfile_sbom_test.go ``testSBOMScannerArgs``.
"""

from __future__ import annotations

import pytest

from dockyard.dockerfile.plan import plan
from dockyard.dockerfile.sbomscan import ScanRequest, ScanTargets, enabled_for
from dockyard.graph import ops
from dockyard.graph.walk import topological

# testSBOMScannerArgs's second Dockerfile: base2 scans but is not reached from the target
BUILDKIT_CASE = """\
ARG BUILDKIT_SBOM_SCAN_CONTEXT=true

FROM scratch as file
ARG BUILDKIT_SBOM_SCAN_STAGE=true
COPY <<EOF /file
data
EOF

FROM scratch as base
ARG BUILDKIT_SBOM_SCAN_STAGE=true
COPY --from=file /file /foo

FROM scratch as base2
ARG BUILDKIT_SBOM_SCAN_STAGE=true
COPY --from=file /file /bar
RUN non-existent-command-would-fail

FROM base
ARG BUILDKIT_SBOM_SCAN_STAGE=true
"""


def _scan(text: str, request: ScanRequest | None = None, **build_args: str) -> ScanTargets:
    the_plan = plan(text, None, build_args=build_args, sbom_scan=request or ScanRequest())
    (platform,) = the_plan.platforms
    return platform.sbom


def _names(targets: ScanTargets) -> list[str]:
    return [name for name, _ in targets.stages]


@pytest.mark.parametrize(("value", "stage", "on"), [
    ("true", "x", True), ("1", "x", True), ("T", "x", True), ("False", "x", False), ("0", "x", False),
    ("x,y", "y", True), ("x,y", "z", False), ("yes", "yes", True), ("yes", "x", False),  # not a Go bool: a name
])
def test_is_enabled_for_stage_as_go_parsebool_then_names(value: str, stage: str, on: bool) -> None:
    assert enabled_for(stage, value) is on


def test_build_args_alone_scan_nothing_the_dockerfile_does_not_declare() -> None:
    text = "FROM scratch as base\nCOPY <<EOF /foo\ndata\nEOF\nFROM base\n"
    assert _scan(text, BUILDKIT_SBOM_SCAN_CONTEXT="true", BUILDKIT_SBOM_SCAN_STAGE="true") == ScanTargets()


def test_the_reached_stages_that_declare_it_and_the_context_of_the_target() -> None:
    found = _scan(BUILDKIT_CASE)
    assert _names(found) == ["file", "base"]  # base2 is not built; the target is the core SBOM
    assert found.context


def test_build_args_turn_declared_scans_off() -> None:
    found = _scan(BUILDKIT_CASE, BUILDKIT_SBOM_SCAN_STAGE="false", BUILDKIT_SBOM_SCAN_CONTEXT="false")
    assert found == ScanTargets()
    assert _names(_scan(BUILDKIT_CASE, BUILDKIT_SBOM_SCAN_STAGE="file")) == ["file"]  # a list of stage names


def test_the_flag_decides_for_every_reached_stage_arg_or_not() -> None:
    text = "FROM scratch as deps\nCOPY <<EOF /d\nd\nEOF\nFROM scratch\nCOPY <<EOF /x\nx\nEOF\n" \
           "FROM scratch\nCOPY --from=deps /d /d\nCOPY --from=1 /x /x\n"
    assert _scan(text) == ScanTargets()
    assert _names(_scan(text, ScanRequest(stage="true"))) == ["deps", "stage-1"]  # unnamed: stage-N
    assert _names(_scan(text, ScanRequest(stage="stage-1"))) == ["stage-1"]
    assert _names(_scan(BUILDKIT_CASE, ScanRequest(stage="false"))) == []  # the flag replaces the ARGs
    assert not _scan(BUILDKIT_CASE, ScanRequest(context="false")).context
    assert _scan(text, ScanRequest(context="stage-2")).context  # the target's own name


def test_the_scan_args_never_reach_a_run_steps_environment() -> None:
    the_plan = plan("FROM busybox\nARG BUILDKIT_SBOM_SCAN_STAGE=true\nARG BUILDKIT_SBOM_SCAN_CONTEXT=true\n"
                    "ARG OTHER=1\nRUN env\n", None)
    (run,) = [op for op in topological([the_plan.platforms[0].state]) if isinstance(op, ops.Exec)]
    assert "OTHER=1" in run.env
    assert not [e for e in run.env if e.startswith("BUILDKIT_SBOM_SCAN")]


def test_nothing_is_planned_without_an_sbom() -> None:
    assert plan(BUILDKIT_CASE, None).platforms[0].sbom == ScanTargets()

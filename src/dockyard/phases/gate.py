"""Gate phase: checks that run after assembly and attestation, before anything is delivered.

A :class:`Gate` inspects the final :class:`~dockyard.phases.result.BuildResult` and raises a
:class:`~dockyard.errors.DockyardError` (with a hint) to stop delivery: nothing is pushed
or exported when a gate fails. :class:`PolicyGate` is the built-in one: the quality gates of
:mod:`dockyard.gates` (sizes, layers, user, labels, secrets, reports, commands); the build runs
the gates its caller passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from dockyard.errors import GateError
from dockyard.gates.outcome import GateReport
from dockyard.gates.policy import GatePolicy
from dockyard.phases.result import BuildResult


@runtime_checkable
class Gate(Protocol):
    """A check on a build result; raises a DockyardError to refuse delivery."""

    def check(self, result: BuildResult) -> None: ...


def check(result: BuildResult, gates: Sequence[Gate]) -> None:
    """Run every gate over ``result``; the first failing gate's error propagates."""
    for gate in gates:
        gate.check(result)


class PolicyGate:
    """A :class:`Gate` over a :class:`~dockyard.gates.policy.GatePolicy`.

    ``report`` holds the last evaluation (for the table and ``--metadata-file``) whether it
    passed or not; in ``enforce`` mode a failure raises :class:`GateError` (exit code 3).
    """

    def __init__(self, policy: GatePolicy) -> None:
        self.policy = policy
        self.report: GateReport | None = None

    def check(self, result: BuildResult) -> None:
        from dockyard.gates.checks import evaluate  # report readers (xml, json) only when a policy is set

        self.report = evaluate(self.policy, result.content, result.descriptor)
        if self.report.passed or self.policy.mode != "enforce":
            return
        failed = ", ".join(o.gate + (f" [{o.platform}]" if o.platform else "") for o in self.report.failures)
        raise GateError(f"quality gate failed: {failed}; nothing was pushed",
                        hint="see the table above; --gate-mode=warn reports without blocking")

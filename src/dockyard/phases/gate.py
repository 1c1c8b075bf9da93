"""Gate phase: checks that run after assembly and attestation, before anything is delivered.

A :class:`Gate` inspects the final :class:`~dockyard.phases.result.BuildResult` and raises a
:class:`~dockyard.errors.DockyardError` (with a hint) to stop delivery: nothing is pushed
or exported when a gate fails. None are built in yet; the build runs the ones its caller passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from dockyard.phases.result import BuildResult


@runtime_checkable
class Gate(Protocol):
    """A check on a build result; raises a DockyardError to refuse delivery."""

    def check(self, result: BuildResult) -> None: ...


def check(result: BuildResult, gates: Sequence[Gate]) -> None:
    """Run every gate over ``result``; the first failing gate's error propagates."""
    for gate in gates:
        gate.check(result)

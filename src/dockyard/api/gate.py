"""The quality gates of a build as its delivery gate (``api.build.DeliveryGate``), for
``dockyard build --gate`` and ``dockyard.build(gates=...)`` alike.

The policy runs through the gate phase (:func:`dockyard.phases.gate.check`) on the result of all
nodes, before anything is delivered; its table is reported either way, and an enforced failure
writes ``--metadata-file`` (with the gate results) before the ``GateError`` stops delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.exporters.metadata import describe, write_metadata_file
from dockyard.gates.outcome import GateReport
from dockyard.gates.policy import GatePolicy
from dockyard.phases.deliver import Delivery
from dockyard.phases.gate import PolicyGate, check
from dockyard.phases.result import BuildResult


def gate_metadata(report: GateReport | None) -> dict[str, Any]:
    """dockyard's ``dockyard.gates`` key for --metadata-file (none when no gate ran)."""
    return {"dockyard.gates": report.as_json()} if report is not None else {}


def run_gates(policy: GatePolicy, result: BuildResult, delivery: Delivery, *, metadata_extra: Mapping[str, Any],
              report: Callable[[str], None],
              metadata: Callable[[GateReport | None], Mapping[str, Any]] = gate_metadata) -> GateReport | None:
    """Check ``policy`` (see the module docstring); ``metadata`` makes the keys a failed run writes."""
    if policy.empty:
        return None
    gate = PolicyGate(policy)
    try:
        check(result, [gate])
    finally:
        if gate.report is not None:
            verdict = "passed" if gate.report.passed else (
                "FAILED" if policy.mode == "enforce" else "failed (warn mode)")
            report(f"quality gates {verdict}:\n{gate.report.table()}")
            if not gate.report.passed and policy.mode == "enforce" and delivery.metadata_file is not None:
                described = describe(result.content, result.descriptor, names=delivery.tags)
                write_metadata_file(delivery.metadata_file, described,
                                    extra={**metadata_extra, **metadata(gate.report)})
    return gate.report


@dataclass(frozen=True)
class PolicyDelivery:
    """A gate policy as a build's delivery gate: :func:`run_gates`, then the ``dockyard.gates`` key
    and ``extra`` (the release's ``dockyard.release``), in the metadata of a failed run too."""

    policy: GatePolicy
    report: Callable[[str], None]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def metadata(self, report: GateReport | None) -> dict[str, Any]:
        return {**gate_metadata(report), **self.extra}

    def __call__(self, result: BuildResult, delivery: Delivery, *,
                 metadata_extra: Mapping[str, Any]) -> dict[str, Any]:
        return self.metadata(run_gates(self.policy, result, delivery, metadata_extra=metadata_extra,
                                       report=self.report, metadata=self.metadata))

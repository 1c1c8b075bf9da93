"""The verdict of a gate run: one row per check, a table for the log, JSON for --metadata-file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GateOutcome:
    """One check on one platform (``platform`` is ``""`` for checks of the whole release)."""

    gate: str
    platform: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class GateReport:
    """Every gate's outcome for one build, and the mode (enforce or warn) they ran in."""

    mode: str
    outcomes: tuple[GateOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> tuple[GateOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)

    def table(self) -> str:
        """All checks in aligned columns, failures marked; what a CI log shows."""
        rows = [("GATE", "PLATFORM", "RESULT", "DETAIL")]
        rows += [(o.gate, o.platform or "-", "pass" if o.passed else "FAIL", o.detail) for o in self.outcomes]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows)

    def as_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "passed": self.passed,
                "results": [{"gate": o.gate, "platform": o.platform, "passed": o.passed, "detail": o.detail}
                            for o in self.outcomes]}

"""Reading the reports a pipeline made: test coverage and vulnerability scans.

Coverage: coverage.py JSON (``totals.percent_covered``), Cobertura XML (coverage.py's XML is
Cobertura: ``line-rate`` on the root element), and lcov tracefiles (the sums of ``LH``/``LF``).
Vulnerabilities: Trivy JSON (``Results[].Vulnerabilities[].Severity``), Grype JSON
(``matches[].vulnerability.severity``) and SARIF (``runs[].results[]``, severity from the rule's
or the result's ``security-severity`` score as GitHub maps it, else from ``level``). The format
is recognised from the content, not the file name. A report that is missing or unreadable is a
failed gate with the reason, never a pass.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any


class ReportError(Exception):
    """The report is missing or is in no format we read; the message says which."""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None


def coverage_percent(path: Path) -> tuple[float, str]:
    """The line coverage in percent, and the format it was read as."""
    text = _read(path)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        doc = _json(text, path)
        totals = doc.get("totals") if isinstance(doc, dict) else None
        if isinstance(totals, dict) and isinstance(totals.get("percent_covered"), int | float):
            return float(totals["percent_covered"]), "coverage.py JSON"
        raise ReportError(f"{path}: JSON without totals.percent_covered (not a coverage.py report)")
    if stripped.startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise ReportError(f"{path}: invalid XML: {exc}") from None
        rate = root.get("line-rate")
        if root.tag == "coverage" and rate is not None:
            try:
                return float(rate) * 100, "Cobertura XML"
            except ValueError:
                pass
        raise ReportError(f"{path}: XML without a coverage line-rate (not Cobertura)")
    found = hit = 0
    seen = False
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in ("LF", "LH") and value.strip().isdigit():
            seen = True
            if key == "LF":
                found += int(value)
            else:
                hit += int(value)
    if seen:
        return (100.0 * hit / found if found else 100.0), "lcov"
    raise ReportError(f"{path}: not a coverage.py JSON, Cobertura XML or lcov report")


def _json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ReportError(f"{path}: invalid JSON: {exc}") from None


def _sarif_severity(score: object, level: object) -> str:
    try:
        value = float(str(score))
    except ValueError:
        value = -1.0
    if value >= 9.0:
        return "critical"
    if value >= 7.0:
        return "high"
    if value >= 4.0:
        return "medium"
    if value >= 0.1:
        return "low"
    return {"error": "high", "warning": "medium", "note": "low"}.get(str(level), "unknown")


def vulnerability_counts(path: Path) -> tuple[Counter[str], str]:
    """Findings per lowercased severity, and the format read (Trivy, Grype or SARIF)."""
    doc = _json(_read(path), path)
    counts: Counter[str] = Counter()
    if isinstance(doc, dict) and "Results" in doc:
        for result in doc.get("Results") or []:
            for vuln in (result or {}).get("Vulnerabilities") or []:
                counts[str(vuln.get("Severity", "unknown")).lower()] += 1
        return counts, "Trivy JSON"
    if isinstance(doc, dict) and "matches" in doc:
        for match in doc.get("matches") or []:
            counts[str((match.get("vulnerability") or {}).get("severity", "unknown")).lower()] += 1
        return counts, "Grype JSON"
    if isinstance(doc, dict) and "runs" in doc:
        for run in doc.get("runs") or []:
            rules = {r.get("id"): r for r in ((run.get("tool") or {}).get("driver") or {}).get("rules") or []}
            for result in run.get("results") or []:
                props = result.get("properties") or {}
                rule_props = (rules.get(result.get("ruleId")) or {}).get("properties") or {}
                score = props.get("security-severity", rule_props.get("security-severity", ""))
                counts[_sarif_severity(score, result.get("level", "warning"))] += 1
        return counts, "SARIF"
    raise ReportError(f"{path}: not a Trivy JSON, Grype JSON or SARIF report")

"""Coverage and scanner reports: coverage.py's own JSON, XML (Cobertura) and lcov output, made by
running the real coverage.py on a small module; Trivy, Grype and SARIF documents shaped as those
tools write them (neither scanner can be installed here: no Debian package, no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.gates.reports import ReportError, coverage_percent, vulnerability_counts

MODULE = """\
def used(x):
    return x + 1

def unused(x):
    if x:
        return 1
    return 2

used(1)
"""


@pytest.fixture(scope="module")
def coverage_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("cov")
    (work / "mod.py").write_text(MODULE)

    def run(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "coverage", *args], cwd=work, check=True, capture_output=True)

    run("run", "mod.py")
    run("json", "-o", "coverage.json")
    run("xml", "-o", "coverage.xml")
    run("lcov", "-o", "coverage.lcov")
    return {"json": work / "coverage.json", "xml": work / "coverage.xml", "lcov": work / "coverage.lcov"}


def test_coverage_py_formats_agree(coverage_reports: dict[str, Path]) -> None:
    truth = json.loads(coverage_reports["json"].read_text())["totals"]
    lines = 100.0 * truth["covered_lines"] / truth["num_statements"]  # 4 of 7 statements
    got = {kind: coverage_percent(path) for kind, path in coverage_reports.items()}
    assert got["json"][1] == "coverage.py JSON" and got["json"][0] == pytest.approx(truth["percent_covered"])
    assert got["xml"][1] == "Cobertura XML" and got["xml"][0] == pytest.approx(lines, abs=0.01)
    assert got["lcov"][1] == "lcov" and got["lcov"][0] == pytest.approx(lines, abs=0.01)
    assert 50 < lines < 60


@pytest.mark.parametrize(("text", "error"), [
    ("{}", "not a coverage.py report"), ("<coverage/>", "line-rate"), ("hello", "not a coverage.py JSON"),
])
def test_unknown_coverage_is_an_error(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "r"
    path.write_text(text)
    with pytest.raises(ReportError, match=error):
        coverage_percent(path)


def test_missing_report_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot read"):
        coverage_percent(tmp_path / "absent.xml")


TRIVY = {"SchemaVersion": 2, "ArtifactName": "app", "Results": [
    {"Target": "app (debian 12)", "Class": "os-pkgs", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "Severity": "CRITICAL"},
        {"VulnerabilityID": "CVE-2024-0002", "PkgName": "zlib", "Severity": "HIGH"},
        {"VulnerabilityID": "CVE-2024-0003", "PkgName": "zlib", "Severity": "LOW"}]},
    {"Target": "requirements.txt", "Class": "lang-pkgs"}]}
GRYPE = {"matches": [{"vulnerability": {"id": "GHSA-1", "severity": "High"}},
                     {"vulnerability": {"id": "GHSA-2", "severity": "Medium"}}], "source": {}, "descriptor": {}}
SARIF = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner", "rules": [
    {"id": "R1", "properties": {"security-severity": "9.8"}}, {"id": "R2", "properties": {}}]}},
    "results": [{"ruleId": "R1", "level": "error"}, {"ruleId": "R2", "level": "warning"},
                {"ruleId": "R2", "level": "note", "properties": {"security-severity": "7.5"}}]}]}


@pytest.mark.parametrize(("doc", "fmt", "counts"), [
    (TRIVY, "Trivy JSON", {"critical": 1, "high": 1, "low": 1}),
    (GRYPE, "Grype JSON", {"high": 1, "medium": 1}),
    (SARIF, "SARIF", {"critical": 1, "medium": 1, "high": 1}),
])
def test_scanner_reports(tmp_path: Path, doc: object, fmt: str, counts: dict[str, int]) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(doc))
    got, kind = vulnerability_counts(path)
    assert kind == fmt and dict(got) == counts

"""Gate policy from --gate lines and from .dockyard/gates.toml / dockyard.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import ConfigError, UsageError
from dockyard.gates.policy import CoverageGate, GatePolicy, VulnerabilityGate, build_policy


def test_gate_lines(tmp_path: Path) -> None:
    policy = build_policy(["max-size=1.5MiB", "max-layers=12", "no-root-user", "require-label=a.b", "no-secrets",
                           "coverage=80,report=cov.xml", "vulnerabilities,report=t.json,critical=0,high=3",
                           '"command=sh -c ""exit 0"""'], project=tmp_path)
    assert policy.max_size == int(1.5 * 1024 * 1024) and policy.max_layers == 12
    assert policy.no_root_user and policy.no_secrets and policy.required_labels == ("a.b",)
    assert policy.coverage == (CoverageGate(Path.cwd() / "cov.xml", 80.0),)
    assert policy.vulnerabilities == (VulnerabilityGate(Path.cwd() / "t.json", {"critical": 0, "high": 3}),)
    assert policy.commands == ('sh -c "exit 0"',)
    assert policy.mode == "enforce" and not policy.empty


@pytest.mark.parametrize(("line", "message"), [
    ("max-size=big", "invalid size 'big'"), ("max-layers=-1", "is negative"), ("coverage=80", "needs report=PATH"),
    ("vulnerabilities,report=x", "no severity limit"), ("vulnerabilities,report=x,severe=1", "unknown severity"),
    ("no-root-user,x=1", "takes no x="), ("max-sise=1", "unknown gate 'max-sise'"),
])
def test_bad_gate_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        build_policy([line], project=tmp_path)
    assert message in info.value.message and f"--gate {line!r}" in info.value.message


def test_policy_file_then_lines_then_mode(tmp_path: Path) -> None:
    (tmp_path / ".dockyard").mkdir()
    (tmp_path / ".dockyard" / "gates.toml").write_text(
        'mode_is_not_here = 1\n[gates]\nmax-layers = 5\nmode = "warn"\n'
        '[gates.coverage]\nreport = "reports/cov.json"\nmin = 75.5\n'
        '[[gates.command]]\nrun = "true"\n')
    policy = build_policy(["max-size=10MB"], project=tmp_path)
    assert policy == GatePolicy(max_size=10_000_000, max_layers=5, mode="warn", workdir=tmp_path,
                                coverage=(CoverageGate(tmp_path / "reports/cov.json", 75.5),), commands=("true",))
    assert build_policy([], project=tmp_path, mode="enforce").mode == "enforce"


def test_dockyard_toml_gates_table(tmp_path: Path) -> None:
    (tmp_path / "dockyard.toml").write_text('[gates]\nno-secrets = true\nrequire-labels = ["x", "y"]\n')
    policy = build_policy([], project=tmp_path)
    assert policy.no_secrets and policy.required_labels == ("x", "y")


def test_bad_policy_file_is_a_config_error_naming_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "dockyard.toml").write_text('[gates]\nmax-size = "huge"\n')
    with pytest.raises(ConfigError) as info:
        build_policy([], project=tmp_path)
    assert str(tmp_path / "dockyard.toml") in info.value.message and "gates.max-size" in info.value.message
    (tmp_path / "dockyard.toml").write_text("[gates\n")
    with pytest.raises(ConfigError, match=r"dockyard\.toml"):
        build_policy([], project=tmp_path)


def test_no_policy_is_empty(tmp_path: Path) -> None:
    assert build_policy([], project=tmp_path).empty

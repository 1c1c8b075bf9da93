"""What a release must satisfy, from ``--gate`` lines and from a policy file.

``--gate`` takes one check a line, a CSV of ``key=value`` fields whose first field names it::

    max-size=200MB                      compressed layers per platform (B, kB, MB, GB, KiB, MiB, GiB)
    max-layers=30
    no-root-user
    require-label=org.opencontainers.image.source
    no-secrets                          private keys, .env, cloud credentials in any layer
    coverage=80,report=coverage.xml     coverage.py JSON/XML, Cobertura XML or lcov
    vulnerabilities,report=trivy.json,critical=0,high=5   Trivy JSON, Grype JSON or SARIF
    "command=./check-image.sh"          exit status 0 passes; the image is in $DOCKYARD_GATE_OCI_LAYOUT

The policy file is ``.dockyard/gates.toml`` (a ``[gates]`` table) or ``dockyard.toml``'s
``[gates]`` table in the project, with the same names (see docs/ci.md); its report paths and
commands are relative to the project. ``--gate`` lines add to the file's checks.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError, UsageError

SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
NAMES = ("max-size", "max-layers", "no-root-user", "require-label", "no-secrets", "coverage", "vulnerabilities",
         "command")


@dataclass(frozen=True)
class CoverageGate:
    """Fail the delivery when the coverage report's line rate is under ``minimum`` percent."""

    report: Path
    minimum: float  # percent


@dataclass(frozen=True)
class VulnerabilityGate:
    """Fail the delivery when a severity has more findings than its limit."""

    report: Path
    limits: Mapping[str, int]  # severity -> most findings allowed


@dataclass(frozen=True, kw_only=True)
class GatePolicy:
    """The checks; an empty policy checks nothing. ``mode`` is ``enforce`` or ``warn``."""

    max_size: int | None = None
    max_layers: int | None = None
    no_root_user: bool = False
    required_labels: tuple[str, ...] = ()
    no_secrets: bool = False
    coverage: tuple[CoverageGate, ...] = ()
    vulnerabilities: tuple[VulnerabilityGate, ...] = ()
    commands: tuple[str, ...] = ()
    mode: str = "enforce"
    workdir: Path = field(default_factory=Path.cwd)  # where commands run and reports are found

    @property
    def empty(self) -> bool:
        return self == GatePolicy(mode=self.mode, workdir=self.workdir)


def parse_size(text: str, *, where: str) -> int:
    m = _SIZE.match(str(text))
    if m is None or m.group(2).lower() not in _UNITS:
        raise UsageError(f"{where}: invalid size {text!r}", hint="e.g. 200MB, 1.5GiB or 5000000")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _count(text: object, *, where: str) -> int:
    try:
        value = int(str(text))
    except ValueError:
        raise UsageError(f"{where}: {text!r} is not a whole number") from None
    if value < 0:
        raise UsageError(f"{where}: {value} is negative")
    return value


def _limits(fields: Mapping[str, object], *, where: str) -> dict[str, int]:
    limits = {}
    for key, value in fields.items():
        if key not in SEVERITIES:
            raise UsageError(f"{where}: unknown severity {key!r}", hint="severities: " + ", ".join(SEVERITIES))
        limits[key] = _count(value, where=where)
    if not limits:
        raise UsageError(f"{where}: no severity limit", hint="e.g. critical=0,high=5")
    return limits


def add_gate_line(policy: GatePolicy, line: str) -> GatePolicy:
    """``policy`` with the check one ``--gate`` line states; a bad line is a UsageError naming it."""
    where = f"--gate {line!r}"
    fields = next(csv.reader([line]), [])
    if not fields:
        raise UsageError(f"{where}: empty gate")
    name, _, value = fields[0].strip().partition("=")
    extra: dict[str, str] = {}
    for item in fields[1:]:
        key, eq, val = item.strip().partition("=")
        if not eq:
            raise UsageError(f"{where}: {item!r} is not key=value")
        extra[key] = val
    return _add(policy, name, value, extra, where=where, base=Path.cwd())


def _add(policy: GatePolicy, name: str, value: Any, extra: dict[str, Any], *, where: str, base: Path) -> GatePolicy:  # noqa: C901 - one branch per gate key of the policy file
    def no_extra() -> None:
        if extra:
            raise UsageError(f"{where}: {name} takes no {sorted(extra)[0]}=")

    def report() -> Path:
        path = extra.pop("report", None)
        if not path:
            raise UsageError(f"{where}: {name} needs report=PATH")
        return base / str(path)

    if name == "max-size":
        no_extra()
        return replace(policy, max_size=parse_size(value, where=where))
    if name == "max-layers":
        no_extra()
        return replace(policy, max_layers=_count(value, where=where))
    if name == "no-root-user":
        no_extra()
        return replace(policy, no_root_user=value in ("", True, "true"))
    if name == "require-label":
        no_extra()
        labels = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(label, str) and label for label in labels):
            raise UsageError(f"{where}: require-label needs a label key")
        return replace(policy, required_labels=(*policy.required_labels, *labels))
    if name == "no-secrets":
        no_extra()
        return replace(policy, no_secrets=value in ("", True, "true"))
    if name == "coverage":
        path = report()
        minimum = extra.pop("min", value)
        no_extra()
        try:
            pct = float(minimum)
        except (TypeError, ValueError):
            raise UsageError(f"{where}: coverage minimum {minimum!r} is not a number",
                             hint="e.g. coverage=80") from None
        return replace(policy, coverage=(*policy.coverage, CoverageGate(path, pct)))
    if name == "vulnerabilities":
        path = report()
        gate = VulnerabilityGate(path, _limits(extra, where=where))
        return replace(policy, vulnerabilities=(*policy.vulnerabilities, gate))
    if name == "command":
        no_extra()
        commands = [value] if isinstance(value, str) else list(value)
        if not all(isinstance(c, str) and c.strip() for c in commands):
            raise UsageError(f"{where}: command needs a command line")
        return replace(policy, commands=(*policy.commands, *commands))
    raise UsageError(f"{where}: unknown gate {name!r}", hint="gates: " + ", ".join(NAMES))


def find_policy_file(project: Path) -> Path | None:
    """``.dockyard/gates.toml``, else ``dockyard.toml`` when it has a ``[gates]`` table."""
    for candidate in (project / ".dockyard" / "gates.toml", project / "dockyard.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_policy_file(path: Path, *, project: Path) -> GatePolicy:
    """The ``[gates]`` table of ``path`` as a policy (reports and commands relative to ``project``)."""
    import tomllib  # only when a gate policy file is read

    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}", hint="fix the TOML syntax") from None
    table = doc.get("gates", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [gates] must be a table")
    policy = GatePolicy(workdir=project)
    for key, value in table.items():
        where = f"{path}: gates.{key}"
        try:
            if key == "mode":
                policy = replace(policy, mode=_mode(str(value), where=where))
            elif key in ("coverage", "vulnerabilities"):
                for entry in value if isinstance(value, list) else [value]:
                    if not isinstance(entry, dict):
                        raise UsageError(f"{where} must be a table")
                    fields = dict(entry)
                    policy = _add(policy, key, fields.pop("min", None), fields, where=where, base=project)
            elif key == "require-labels":
                policy = _add(policy, "require-label", value, {}, where=where, base=project)
            elif key in ("command", "commands"):
                entries = value if isinstance(value, list) else [value]
                runs = [e.get("run") if isinstance(e, dict) else e for e in entries]  # [[gates.command]] run = ".."
                policy = _add(policy, "command", runs, {}, where=where, base=project)
            else:
                policy = _add(policy, key, value, {}, where=where, base=project)
        except UsageError as exc:
            raise ConfigError(exc.message, hint=exc.hint) from None
    return policy


def _mode(text: str, *, where: str) -> str:
    if text not in ("enforce", "warn"):
        raise UsageError(f"{where}: gate mode {text!r} is not enforce or warn")
    return text


def build_policy(lines: Sequence[str], *, project: Path, mode: str | None = None,
                 policy_file: Path | None = None) -> GatePolicy:
    """The policy a build runs: the policy file (given, or found in ``project``), then ``--gate`` lines."""
    path = policy_file or find_policy_file(project)
    policy = load_policy_file(path, project=project) if path else GatePolicy(workdir=project)
    for line in lines:
        policy = add_gate_line(policy, line)
    if mode is not None:
        policy = replace(policy, mode=_mode(mode, where="--gate-mode"))
    return policy

"""A builder's configuration file: the subset of BuildKit's buildkitd.toml that dockyard honours.

Users who move from buildx bring a ``buildkitd.toml``; ``dockyard create --config FILE`` takes
the same file. We read what has a meaning for a daemonless builder and ignore the rest (grpc,
debug, root...), so the same file works for both tools:

- ``[worker.oci] max-parallelism``: how many build steps run at once (the solver's ``jobs``).
- ``[worker.oci] platforms``: the platforms the node serves when ``--platform`` is not given.
- ``[worker.oci] gc``, ``gckeepstorage`` (MB when a number, or ``"10GB"``/``"10%"``) and
  ``[[worker.oci.gcpolicy]]`` rules (``all``, ``keepBytes``, ``keepDuration``, ``filters``):
  what ``dockyard prune`` keeps.
- ``[registry."HOST"]``: ``mirrors``, ``http``, ``insecure``, ``ca``, ``[[...keypair]]`` (see
  :class:`dockyard.registry.hosts.HostConfig`; parsed by the registry client's own parser, so
  registries.toml and a builder's config can never disagree on the format).

Everything becomes frozen dataclasses, so a typo'd type is a one-line ConfigError at
``create`` time rather than a surprise during a build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.platform import Platform
from dockyard.registry.hosts import HostConfig, parse_hosts

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)b?$", re.IGNORECASE)
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class GCRule:
    """One garbage-collection rule: keep at most ``keep_bytes`` of matching records.

    ``keep_percent`` is the alternative relative limit (a share of the store's filesystem);
    ``keep_duration`` (seconds) protects records used more recently than that.
    """

    all: bool = False
    keep_bytes: int | None = None
    keep_percent: float | None = None
    keep_duration: float | None = None
    filters: tuple[str, ...] = ()

    def limit(self, filesystem_bytes: int) -> int | None:
        """The byte limit on a filesystem of the given size (None: no size limit)."""
        if self.keep_bytes is not None:
            return self.keep_bytes
        if self.keep_percent is not None:
            return int(filesystem_bytes * self.keep_percent / 100)
        return None


@dataclass(frozen=True)
class GCPolicy:
    """What ``prune``/automatic GC keep. ``default`` is True when the file set nothing."""

    enabled: bool = True
    rules: tuple[GCRule, ...] = (GCRule(all=True, keep_percent=10.0),)
    default: bool = True


@dataclass(frozen=True)
class BuilderConfig:
    """A builder's configuration. ``BuilderConfig()`` is what a builder without ``--config`` uses.

    ``max_parallelism`` None means "as many steps as the machine has CPUs" (the caller
    decides); ``registries`` maps host -> :class:`~dockyard.registry.hosts.HostConfig`.
    """

    max_parallelism: int | None = None
    platforms: tuple[Platform, ...] = ()
    gc: GCPolicy = field(default_factory=GCPolicy)
    registries: Mapping[str, HostConfig] = field(default_factory=dict)
    source: Path | None = None

    def registry(self, host: str) -> HostConfig:
        """The settings for ``host`` (defaults when the file does not mention it)."""
        return self.registries.get(host) or HostConfig()


def load_config(path: Path) -> BuilderConfig:
    """Read and validate a buildkitd.toml-shaped file."""
    import tomllib  # only when a builder has a config file

    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read builder config {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    return parse_config(data, source=path)


def parse_config(data: Mapping[str, Any], *, source: Path | None = None) -> BuilderConfig:
    """Turn a parsed TOML document into a :class:`BuilderConfig`."""
    where = str(source or "builder config")
    worker = _table(_table(data, "worker", where), "oci", f"{where}: [worker]")
    ctx = f"{where}: [worker.oci]"
    jobs = worker.get("max-parallelism")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ConfigError(f"{ctx}: max-parallelism must be a positive integer, not {jobs!r}")
    platforms = tuple(Platform.parse(p) for p in _strings(worker.get("platforms", []), f"{ctx} platforms"))
    return BuilderConfig(
        max_parallelism=jobs,
        platforms=platforms,
        gc=_gc_policy(worker, ctx),
        registries=parse_hosts(data.get("registry", {}), where=where),
        source=source,
    )


def parse_size(value: Any, *, number_unit: int, what: str) -> tuple[int | None, float | None]:
    """A disk size as ``(bytes, None)`` or ``(None, percent)``; plain numbers are in ``number_unit``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value * number_unit, None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            try:
                pct = float(text[:-1])
            except ValueError:
                pct = -1.0
            if 0 < pct <= 100:
                return None, pct
        match = _SIZE_RE.match(text)
        if match:
            number, prefix, binary = match.groups()
            power = "kmgtp".find(prefix.lower()) + 1 if prefix else 0
            return int(float(number) * (1024 if binary else 1000) ** power), None
    raise ConfigError(f"{what}: invalid size {value!r}", hint='use bytes, "10GB", "512MiB" or "10%"')


def parse_duration(value: Any, *, what: str) -> float:
    """Seconds from a number (seconds) or a Go-style duration such as ``"48h"`` or ``"1h30m"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        parts = _DURATION_RE.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    raise ConfigError(f"{what}: invalid duration {value!r}", hint='use seconds or e.g. "48h"')


def _gc_policy(worker: Mapping[str, Any], ctx: str) -> GCPolicy:
    enabled = _bool(worker.get("gc", True), f"{ctx} gc")
    raw_rules = worker.get("gcpolicy")
    rules: list[GCRule] = []
    if raw_rules is not None:
        if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
            raise ConfigError(f"{ctx}: gcpolicy must be an array of tables ([[worker.oci.gcpolicy]])")
        for i, raw in enumerate(raw_rules):
            rctx = f"{ctx} gcpolicy[{i}]"
            keep_bytes, keep_pct = (None, None)
            if "keepBytes" in raw:
                keep_bytes, keep_pct = parse_size(raw["keepBytes"], number_unit=1, what=f"{rctx} keepBytes")
            duration = parse_duration(raw["keepDuration"], what=f"{rctx} keepDuration") \
                if "keepDuration" in raw else None
            rules.append(GCRule(all=_bool(raw.get("all", False), f"{rctx} all"), keep_bytes=keep_bytes,
                                keep_percent=keep_pct, keep_duration=duration,
                                filters=tuple(_strings(raw.get("filters", []), f"{rctx} filters"))))
    elif "gckeepstorage" in worker:
        keep_bytes, keep_pct = parse_size(worker["gckeepstorage"], number_unit=10**6, what=f"{ctx} gckeepstorage")
        rules.append(GCRule(all=True, keep_bytes=keep_bytes, keep_percent=keep_pct))
    if not rules:
        return GCPolicy(enabled=enabled)
    return GCPolicy(enabled=enabled, rules=tuple(rules), default=False)


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table")
    return value


def _strings(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{what} must be a list of strings")
    return list(value)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string")
    return value


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{what} must be true or false, not {value!r}")
    return value

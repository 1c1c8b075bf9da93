"""Builder records: what ``dockyard create`` remembers about a builder, as plain JSON.

A record is the durable part of a builder: its name, driver, nodes (with the platforms
each was told to serve and what its last bootstrap found), the config file it was created
with, and when it was created and last used. Records are values; the store
(:mod:`dockyard.builders.store`) reads and replaces them whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dockyard.builders.node import PlatformSupport
from dockyard.errors import ConfigError, DockyardError
from dockyard.platform import Platform

FORMAT_VERSION = 1
DEFAULT_NAME = "default"


def now() -> datetime:
    """The current UTC time, to the second (records need no more)."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class BootRecord:
    """What the last successful bootstrap of a node found."""

    at: datetime
    platforms: tuple[PlatformSupport, ...]
    runtime: str  # e.g. "runc 1.1.5"
    version: str  # dockyard's version that bootstrapped
    seconds: float = 0.0
    mode: str = ""  # "root" or "rootless (...)": who the node's builds run as
    snapshotter: str = ""  # what the store's probe chose, e.g. "overlayfs (userxattr,...)" or "copy"
    network: str = ""  # what a RUN step's default network is (rootless: slirp4netns or none)
    sandbox: str = ""  # rootless: whether steps get their own pid namespace and /proc


@dataclass(frozen=True)
class NodeRecord:
    """One node of a builder. ``platforms`` are the ones ``--platform`` asked for (may be empty)."""

    name: str
    endpoint: str = "local"
    platforms: tuple[Platform, ...] = ()
    stopped: bool = False
    boot: BootRecord | None = None
    driver_opts: tuple[tuple[str, str], ...] = ()  # --driver-opt of a kubernetes node, sorted


@dataclass(frozen=True)
class BuilderRecord:
    """A builder. ``config_file`` names the copy of ``--config`` kept beside the record."""

    name: str
    driver: str = "local"
    nodes: tuple[NodeRecord, ...] = ()
    created: datetime = dataclasses.field(default_factory=now)
    last_used: datetime | None = None
    config_file: str | None = None
    placement: str = "prefer-native"  # builders.node.Placement's value; ``--placement`` overrides per build

    def node(self, name: str) -> NodeRecord | None:
        """The node called ``name``, if the builder has it."""
        return next((n for n in self.nodes if n.name == name), None)

    def with_node(self, node: NodeRecord) -> BuilderRecord:
        """A copy with ``node`` replacing the node of the same name, or appended."""
        if self.node(node.name) is None:
            return dataclasses.replace(self, nodes=(*self.nodes, node))
        return dataclasses.replace(self, nodes=tuple(node if n.name == node.name else n for n in self.nodes))


def default_record() -> BuilderRecord:
    """The ``default`` builder as it exists before anything is stored about it."""
    return BuilderRecord(name=DEFAULT_NAME, nodes=(NodeRecord(name=DEFAULT_NAME),),
                         created=datetime(1970, 1, 1, tzinfo=UTC))


def to_json(rec: BuilderRecord) -> dict[str, Any]:
    """The JSON document stored for a record."""
    return {
        "version": FORMAT_VERSION,
        "name": rec.name,
        "driver": rec.driver,
        "created": rec.created.isoformat(),
        "last_used": rec.last_used.isoformat() if rec.last_used else None,
        "config_file": rec.config_file,
        "placement": rec.placement,
        "nodes": [_node_json(n) for n in rec.nodes],
    }


def from_json(doc: Mapping[str, Any], *, where: str) -> BuilderRecord:
    """Parse a stored record; any damage is a ConfigError naming the file."""
    try:
        if doc.get("version") != FORMAT_VERSION:
            raise ConfigError(f"{where}: unsupported builder record version {doc.get('version')!r}")
        return BuilderRecord(
            name=str(doc["name"]),
            driver=str(doc["driver"]),
            created=datetime.fromisoformat(doc["created"]),
            last_used=datetime.fromisoformat(doc["last_used"]) if doc.get("last_used") else None,
            config_file=doc.get("config_file"),
            placement=str(doc.get("placement", "prefer-native")),
            nodes=tuple(_node_from(n) for n in doc["nodes"]),
        )
    except ConfigError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, DockyardError) as exc:
        raise ConfigError(f"{where}: damaged builder record ({type(exc).__name__}: {exc})",
                          hint="remove it with 'dockyard rm NAME', or delete the file") from exc


def _node_json(node: NodeRecord) -> dict[str, Any]:
    boot = node.boot
    return {
        "name": node.name,
        "endpoint": node.endpoint,
        "platforms": [str(p) for p in node.platforms],
        "stopped": node.stopped,
        "driver_opts": dict(node.driver_opts),
        "boot": None if boot is None else boot_to_json(boot),
    }


def boot_to_json(boot: BootRecord) -> dict[str, Any]:
    """A bootstrap's findings as JSON (kept in records, and sent by remote nodes in ``booted``)."""
    return {
        "at": boot.at.isoformat(),
        "runtime": boot.runtime,
        "version": boot.version,
        "seconds": boot.seconds,
        "mode": boot.mode,
        "snapshotter": boot.snapshotter,
        "network": boot.network,
        "sandbox": boot.sandbox,
        "platforms": [{"platform": str(s.platform), "emulated": s.emulated, "verified": s.verified,
                       "detail": s.detail} for s in boot.platforms],
    }


def boot_from_json(doc: Mapping[str, Any]) -> BootRecord:
    """The inverse of :func:`boot_to_json`."""
    return BootRecord(
        at=datetime.fromisoformat(doc["at"]),
        runtime=str(doc["runtime"]),
        version=str(doc["version"]),
        seconds=float(doc.get("seconds", 0.0)),
        mode=str(doc.get("mode", "")),
        snapshotter=str(doc.get("snapshotter", "")),
        network=str(doc.get("network", "")),
        sandbox=str(doc.get("sandbox", "")),
        platforms=tuple(PlatformSupport(Platform.parse(s["platform"]), emulated=bool(s["emulated"]),
                                        verified=bool(s["verified"]), detail=str(s.get("detail", "")))
                        for s in doc["platforms"]),
    )


def _node_from(doc: Mapping[str, Any]) -> NodeRecord:
    boot_doc = doc.get("boot")
    boot = boot_from_json(boot_doc) if boot_doc else None
    return NodeRecord(
        name=str(doc["name"]),
        endpoint=str(doc.get("endpoint", "local")),
        platforms=tuple(Platform.parse(p) for p in doc.get("platforms", [])),
        stopped=bool(doc.get("stopped", False)),
        boot=boot,
        driver_opts=tuple(sorted((str(k), str(v)) for k, v in (doc.get("driver_opts") or {}).items())),
    )

"""The image configuration: what a container made from the image runs, and its layers' diff IDs.

The typed fields are the ones dockyard reads or writes (the OCI config plus Docker's
Healthcheck, Shell and OnBuild, which a Dockerfile sets); anything else a base image carries is
kept in ``extra`` so that reading and rewriting a config never drops what another tool put there.
This is the one image config type: the Dockerfile planner accumulates a stage's config in it,
a node writes it, and pull, inspect and attestations read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import UsageError
from dockyard.oci import canonical
from dockyard.platform import Platform

_ContainerKeys = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
                  "StopSignal", "Healthcheck", "Shell", "OnBuild")

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _strs(value: Any, *, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise canonical.InvalidDocumentError(f"{what} must be a list of strings")
    return tuple(value)


def _int(value: Any, *, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise canonical.InvalidDocumentError(f"{what} must be a number")
    return int(value)


@dataclass(frozen=True, kw_only=True)
class Healthcheck:
    """Docker's ``Healthcheck`` (HEALTHCHECK): the test command and its durations in nanoseconds."""

    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0

    def to_json(self) -> dict[str, Any]:
        """``Test`` and the durations that are set (Go's omitempty)."""
        out: dict[str, Any] = {"Test": list(self.test)}
        durations = (("Interval", self.interval), ("Timeout", self.timeout), ("StartPeriod", self.start_period),
                     ("StartInterval", self.start_interval), ("Retries", self.retries))
        out.update((key, value) for key, value in durations if value)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Healthcheck:
        what = "image config 'config': Healthcheck"
        return cls(
            test=_strs(doc.get("Test"), what=f"{what}.Test") or (),
            interval=_int(doc.get("Interval"), what=f"{what}.Interval"),
            timeout=_int(doc.get("Timeout"), what=f"{what}.Timeout"),
            start_period=_int(doc.get("StartPeriod"), what=f"{what}.StartPeriod"),
            start_interval=_int(doc.get("StartInterval"), what=f"{what}.StartInterval"),
            retries=_int(doc.get("Retries"), what=f"{what}.Retries"),
        )


@dataclass(frozen=True)
class ContainerConfig:
    """The ``config`` object: defaults for a container's process. None means "not set"."""

    user: str | None = None
    exposed_ports: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    volumes: tuple[str, ...] = ()
    working_dir: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    stop_signal: str | None = None
    healthcheck: Healthcheck | None = None
    shell: tuple[str, ...] | None = None
    on_build: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The ``config`` object, its keys in the order dockyard's builds have always written them
        (the order is part of the config's bytes and so of every image digest)."""
        lists = (("Env", self.env or None), ("Cmd", self.cmd), ("Entrypoint", self.entrypoint))
        out: dict[str, Any] = {key: list(value) for key, value in lists if value is not None}
        out.update((key, value) for key, value in (("WorkingDir", self.working_dir), ("User", self.user)) if value)
        sets = (("ExposedPorts", self.exposed_ports), ("Volumes", self.volumes))
        out.update((key, {item: {} for item in value}) for key, value in sets if value)
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            out["Healthcheck"] = self.healthcheck.to_json()
        if self.shell is not None:
            out["Shell"] = list(self.shell)
        if self.on_build:
            out["OnBuild"] = list(self.on_build)
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ContainerConfig:
        what = "image config 'config'"
        labels = doc.get("Labels") or {}
        if not isinstance(labels, dict):
            raise canonical.InvalidDocumentError(f"{what}: Labels must be an object")
        health = doc.get("Healthcheck")
        if health is not None and not isinstance(health, dict):
            raise canonical.InvalidDocumentError(f"{what}: Healthcheck must be an object")
        return cls(
            user=doc.get("User") or None,
            exposed_ports=tuple(doc.get("ExposedPorts") or {}),
            env=_strs(doc.get("Env"), what=f"{what}: Env") or (),
            entrypoint=_strs(doc.get("Entrypoint"), what=f"{what}: Entrypoint"),
            cmd=_strs(doc.get("Cmd"), what=f"{what}: Cmd"),
            volumes=tuple(doc.get("Volumes") or {}),
            working_dir=doc.get("WorkingDir") or None,
            labels={str(k): str(v) for k, v in labels.items()},
            stop_signal=doc.get("StopSignal") or None,
            healthcheck=Healthcheck.from_json(health) if health else None,
            shell=_strs(doc.get("Shell"), what=f"{what}: Shell"),
            on_build=_strs(doc.get("OnBuild"), what=f"{what}: OnBuild") or (),
            extra={k: v for k, v in doc.items() if k not in _ContainerKeys},
        )


@dataclass(frozen=True)
class History:
    """One ``history`` entry; ``empty_layer`` marks steps that added no layer (ENV, CMD, ...)."""

    created: str | None = None
    created_by: str | None = None
    comment: str | None = None
    author: str | None = None
    empty_layer: bool = False

    def to_json(self, *, created: str | None = None) -> dict[str, Any]:
        """The row; ``created`` stamps a row that has no time of its own (BuildKit's exporter fills
        the missing ones), written after the row's other fields as dockyard's builds always have."""
        out: dict[str, Any] = {"created": self.created} if self.created else {}
        if self.created_by is not None:
            out["created_by"] = self.created_by
        for key, value in (("author", self.author), ("comment", self.comment)):
            if value:
                out[key] = value
        if self.empty_layer:
            out["empty_layer"] = True
        if created and not self.created:
            out["created"] = created
        return out


@dataclass(frozen=True)
class ImageConfig:
    """An OCI image config (``application/vnd.oci.image.config.v1+json``) or Docker's equivalent."""

    architecture: str
    os: str
    variant: str | None = None
    created: str | None = None
    author: str | None = None
    config: ContainerConfig = field(default_factory=ContainerConfig)
    diff_ids: tuple[Digest, ...] = ()
    history: tuple[History, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def for_platform(cls, platform: Platform, **kwargs: Any) -> ImageConfig:
        return cls(architecture=platform.architecture, os=platform.os, variant=platform.variant or None, **kwargs)

    @property
    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant or "")

    def with_container(self, **changes: Any) -> ImageConfig:
        """A new config with fields of its ``config`` object changed (``user=``, ``env=``, ...)."""
        return replace(self, config=replace(self.config, **changes))

    def with_layer(self, diff_id: Digest, history: History) -> ImageConfig:
        """A new config with one more layer and its history entry."""
        return replace(self, diff_ids=(*self.diff_ids, diff_id), history=(*self.history, history))

    def to_json(self, *, stamp_history: bool = False) -> dict[str, Any]:
        """The document; ``stamp_history`` gives history rows without a time the image's ``created``
        (what a build writes). Keys come in the order dockyard's builds have always written them."""
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        out["architecture"] = self.architecture
        out["os"] = self.os
        if self.variant:
            out["variant"] = self.variant
        out["config"] = self.config.to_json()
        if self.author:
            out["author"] = self.author
        out["rootfs"] = {"type": "layers", "diff_ids": [str(d) for d in self.diff_ids]}
        stamp = self.created if stamp_history else None
        out["history"] = [h.to_json(created=stamp) for h in self.history]
        out.update(self.extra)
        return out

    def to_bytes(self, *, stamp_history: bool = False) -> bytes:
        return canonical.encode(self.to_json(stamp_history=stamp_history))

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageConfig:
        what = "image config"
        doc = canonical.decode_object(data, what=what)
        canonical.field(doc, "rootfs", dict, what=what)
        return cls.from_json(doc, what=what)

    @classmethod
    def from_json(cls, doc: dict[str, Any], *, what: str = "image config") -> ImageConfig:
        """A parsed document; ``rootfs`` may be missing (a planned config: the node adds the layers)."""
        rootfs = canonical.field(doc, "rootfs", dict, what=what, required=False) or {}
        try:
            diff_ids = tuple(Digest.parse(d) for d in rootfs.get("diff_ids") or [])
        except (UsageError, TypeError):
            raise canonical.InvalidDocumentError(f"{what}: invalid rootfs.diff_ids") from None
        history = tuple(
            History(created=h.get("created"), created_by=h.get("created_by"), comment=h.get("comment"),
                    author=h.get("author"), empty_layer=bool(h.get("empty_layer", False)))
            for h in doc.get("history") or [] if isinstance(h, dict)
        )
        known = {"created", "author", "architecture", "os", "variant", "config", "rootfs", "history"}
        return cls(
            architecture=canonical.field(doc, "architecture", str, what=what),
            os=canonical.field(doc, "os", str, what=what),
            variant=canonical.field(doc, "variant", str, what=what, required=False) or None,
            created=canonical.field(doc, "created", str, what=what, required=False),
            author=canonical.field(doc, "author", str, what=what, required=False),
            config=ContainerConfig.from_json(canonical.field(doc, "config", dict, what=what, required=False) or {}),
            diff_ids=diff_ids,
            history=history,
            extra={k: v for k, v in doc.items() if k not in known},
        )

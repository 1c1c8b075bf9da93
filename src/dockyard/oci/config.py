"""The image configuration: what a container made from the image runs, and its layers' diff IDs.

The typed fields are the ones dockyard reads or writes (the OCI config plus Docker's names
for them); anything else a base image carries (Healthcheck, Shell, OnBuild, ...) is kept in
``extra`` so that reading and rewriting a config never drops what another tool put there.
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
                  "StopSignal")


def _strs(value: Any, *, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise canonical.InvalidDocumentError(f"{what} must be a list of strings")
    return tuple(value)


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
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        """The ``config`` object, its keys in the order dockyard's builds have always written them
        (the order is part of the config's bytes and so of every image digest)."""
        out: dict[str, Any] = {}
        if self.env:
            out["Env"] = list(self.env)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.user:
            out["User"] = self.user
        if self.exposed_ports:
            out["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.volumes:
            out["Volumes"] = {v: {} for v in self.volumes}
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ContainerConfig:
        what = "image config 'config'"
        labels = doc.get("Labels") or {}
        if not isinstance(labels, dict):
            raise canonical.InvalidDocumentError(f"{what}: Labels must be an object")
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

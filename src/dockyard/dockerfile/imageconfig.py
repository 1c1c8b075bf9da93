"""The image config a stage accumulates: ENV, CMD, ENTRYPOINT, WORKDIR, USER, ports, history...

Each instruction returns a new :class:`ImageConfig` (``dataclasses.replace``), never mutating
the base image's, so the same base config can feed several stages and platforms. The result
converts to the OCI image config JSON the node writes through the image model
(``to_oci``, then ``engine.image.config_bytes``); a base image's config comes in already parsed
by the image model (:class:`dockyard.oci.config.ImageConfig`) through :meth:`ImageConfig.from_oci`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from dockyard.oci.config import ImageConfig as OciImageConfig
from dockyard.platform import Platform

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One ``history`` row: what made it, and whether it added a layer. ``created`` and
    ``author`` are only set on rows inherited from a base image, which are kept verbatim (as
    BuildKit does, even under SOURCE_DATE_EPOCH); the exporter stamps the build's own rows."""

    created_by: str
    empty_layer: bool
    comment: str = "buildkit.dockerfile.v0"
    created: str = ""
    author: str = ""


@dataclass(frozen=True, kw_only=True)
class Healthcheck:
    test: tuple[str, ...]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


def _healthcheck(health: Mapping[str, Any]) -> Healthcheck:
    return Healthcheck(
        test=tuple(health.get("Test") or ()),
        interval=int(health.get("Interval") or 0),
        timeout=int(health.get("Timeout") or 0),
        start_period=int(health.get("StartPeriod") or 0),
        start_interval=int(health.get("StartInterval") or 0),
        retries=int(health.get("Retries") or 0),
    )


@dataclass(frozen=True, kw_only=True)
class ImageConfig:
    """Immutable image configuration (the ``config`` object plus history and platform)."""

    platform: Platform
    env: tuple[str, ...] = (f"PATH={DEFAULT_PATH}",)
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    workdir: str = ""
    user: str = ""
    exposed_ports: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    stop_signal: str = ""
    healthcheck: Healthcheck | None = None
    shell: tuple[str, ...] | None = None
    onbuild: tuple[str, ...] = ()
    author: str = ""
    history: tuple[HistoryEntry, ...] = ()

    # -- queries -------------------------------------------------------------------------

    def effective_shell(self) -> tuple[str, ...]:
        return self.shell if self.shell else DEFAULT_SHELL

    # -- changes -------------------------------------------------------------------------

    def with_label(self, key: str, value: str) -> ImageConfig:
        labels = dict(self.labels)
        labels[key] = value
        return replace(self, labels=tuple(labels.items()))

    def with_history(self, created_by: str, *, empty_layer: bool) -> ImageConfig:
        entry = HistoryEntry(created_by=created_by, empty_layer=empty_layer)
        return replace(self, history=(*self.history, entry))

    # -- OCI JSON ------------------------------------------------------------------------

    @classmethod
    def from_oci(cls, base: OciImageConfig, platform: Platform) -> ImageConfig:
        """The config of a base image, as the registry client or the store parsed it (once)."""
        cfg = base.config
        health = cfg.extra.get("Healthcheck")
        env = cfg.env
        if not any(e.startswith("PATH=") for e in env):
            env = (*env, f"PATH={DEFAULT_PATH}")
        shell = cfg.extra.get("Shell")
        return cls(
            platform=platform,
            env=env,
            cmd=cfg.cmd,
            entrypoint=cfg.entrypoint,
            workdir=cfg.working_dir or "",
            user=cfg.user or "",
            exposed_ports=tuple(sorted(cfg.exposed_ports)),
            volumes=tuple(sorted(cfg.volumes)),
            labels=tuple(sorted(cfg.labels.items())),
            stop_signal=cfg.stop_signal or "",
            healthcheck=_healthcheck(health) if isinstance(health, dict) and health else None,
            shell=tuple(shell) if shell else None,
            onbuild=tuple(cfg.extra.get("OnBuild") or ()),
            author=base.author or "",
            history=tuple(
                HistoryEntry(created_by=h.created_by or "", empty_layer=h.empty_layer, comment=h.comment or "",
                             created=h.created or "", author=h.author or "")
                for h in base.history
            ),
        )

    def to_oci(self) -> dict[str, Any]:  # noqa: C901, PLR0912 - one branch per optional config field (Docker's omitempty)
        """The OCI image config JSON (without ``rootfs`` and ``created``: the exporter adds them)."""
        config: dict[str, Any] = {"Env": list(self.env)}
        if self.cmd is not None:
            config["Cmd"] = list(self.cmd)
        if self.entrypoint is not None:
            config["Entrypoint"] = list(self.entrypoint)
        if self.workdir:
            config["WorkingDir"] = self.workdir
        if self.user:
            config["User"] = self.user
        if self.exposed_ports:
            config["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.volumes:
            config["Volumes"] = {v: {} for v in self.volumes}
        if self.labels:
            config["Labels"] = dict(self.labels)
        if self.stop_signal:
            config["StopSignal"] = self.stop_signal
        if self.healthcheck is not None:
            h = self.healthcheck
            health: dict[str, Any] = {"Test": list(h.test)}
            durations = (
                ("Interval", h.interval),
                ("Timeout", h.timeout),
                ("StartPeriod", h.start_period),
                ("StartInterval", h.start_interval),
                ("Retries", h.retries),
            )
            for key, value in durations:
                if value:
                    health[key] = value
            config["Healthcheck"] = health
        if self.shell is not None:
            config["Shell"] = list(self.shell)
        if self.onbuild:
            config["OnBuild"] = list(self.onbuild)
        out: dict[str, Any] = {**self.platform.to_oci(), "config": config}
        if self.author:
            out["author"] = self.author
        history: list[dict[str, Any]] = []
        for entry in self.history:
            row: dict[str, Any] = {"created": entry.created} if entry.created else {}
            row["created_by"] = entry.created_by
            if entry.author:
                row["author"] = entry.author
            if entry.comment:  # omitted when empty, as in the OCI spec's Go types
                row["comment"] = entry.comment
            if entry.empty_layer:
                row["empty_layer"] = True
            history.append(row)
        out["history"] = history
        return out

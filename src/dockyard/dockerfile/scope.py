"""What an instruction handler works on: the stage being converted and the converter's services.

The converter (:mod:`dockyard.dockerfile.convert`) calls the handlers
(:mod:`dockyard.dockerfile.dispatch`, :mod:`dockyard.dockerfile.mounts`), and a handler needs a
few things back from it: word expansion, errors at a line, the filesystem a ``--from`` names
(which may convert another stage first). Those are the :class:`Converter` protocol here, so the
imports run one way: ``convert`` -> ``dispatch`` -> ``mounts`` -> ``scope``, and no handler
imports the converter (the import contract in pyproject.toml keeps it so).

A stage's image config is the image model's :class:`~dockyard.oci.config.ImageConfig`: a
stage starts from :func:`base_config` (a base image's, parsed once by whoever fetched it) or
:func:`scratch_config`, and each handler replaces it (never mutates it), so one base config can
feed several stages and platforms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.stages import Stage
from dockyard.errors import DockerfileError
from dockyard.graph.ops import ContextSource, Op, State
from dockyard.oci.config import DEFAULT_PATH, ContainerConfig, History, ImageConfig
from dockyard.platform import Platform

DEFAULT_SHELL = ("/bin/sh", "-c")
HISTORY_COMMENT = "buildkit.dockerfile.v0"  # what BuildKit's Dockerfile frontend writes on its rows


def scratch_config(platform: Platform) -> ImageConfig:
    """``FROM scratch`` (or a base image without a config): only the default PATH."""
    return ImageConfig.for_platform(platform, config=ContainerConfig(env=(f"PATH={DEFAULT_PATH}",)))


def base_config(base: ImageConfig, platform: Platform) -> ImageConfig:
    """What a stage inherits from its base image's config: the container defaults BuildKit's
    frontend reads (the default PATH added when the base has none; ports, volumes and labels
    in sorted order), its author and history rows verbatim, for the stage's ``platform``.
    Fields no Dockerfile reads (``created``, the base's diff_ids, unknown keys) are not carried:
    the node writes the diff_ids of the layers it has."""
    cfg = base.config
    env = cfg.env if any(e.startswith("PATH=") for e in cfg.env) else (*cfg.env, f"PATH={DEFAULT_PATH}")
    inherited = ContainerConfig(
        user=cfg.user, exposed_ports=tuple(sorted(cfg.exposed_ports)), env=env, entrypoint=cfg.entrypoint,
        cmd=cfg.cmd, volumes=tuple(sorted(cfg.volumes)), working_dir=cfg.working_dir,
        labels=dict(sorted(cfg.labels.items())), stop_signal=cfg.stop_signal, healthcheck=cfg.healthcheck,
        shell=cfg.shell or None, on_build=cfg.on_build,
    )
    history = tuple(History(created=h.created or None, created_by=h.created_by or "", comment=h.comment or None,
                            author=h.author or None, empty_layer=h.empty_layer) for h in base.history)
    return ImageConfig.for_platform(platform, author=base.author or None, config=inherited, history=history)


@dataclass(frozen=True)
class Step:
    """One planned instruction: where it is, what it does (expanded), and its op if any."""

    stage: str
    line: int
    text: str
    op: Op | None = None


@dataclass
class StageScope:
    """Mutable working state while one stage is converted (never escapes the converter).

    ``build_env`` is BuildKit's LLB state env: the base image's ENV, then every ENV and every
    ARG that has a value, in the order llb ``EnvList.AddOrReplace`` gives (a name set again moves
    to the end). It expands words and is RUN's environment, so an ARG declared after an ENV of
    the same name wins there, while the image config keeps the ENV. ``image_env`` and ``labels``
    are the config's, kept as dicts so that 10,000 ENV lines plan in linear time.
    """

    stage: Stage
    platform: Platform
    state: State
    config: ImageConfig
    build_env: dict[str, str] = field(default_factory=dict)
    build_args: list[tuple[str, str | None]] = field(default_factory=list)
    image_env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    history: list[History] = field(default_factory=list)
    config_changed_cmd: bool = False

    def __post_init__(self) -> None:
        for item in self.config.config.env:
            name, _, value = item.partition("=")
            self.image_env[name] = value
            self.set_env(name, value)
        self.labels.update(self.config.config.labels)

    @property
    def workdir(self) -> str:
        """The WORKDIR steps run in ("/" when none is set)."""
        return self.config.config.working_dir or "/"

    @property
    def user(self) -> str:
        """The USER steps run as ("" when none is set: the runtime's default)."""
        return self.config.config.user or ""

    @property
    def shell(self) -> tuple[str, ...]:
        """The shell of a shell-form command (SHELL, else ``/bin/sh -c``)."""
        return self.config.config.shell or DEFAULT_SHELL

    def add_history(self, created_by: str, *, empty_layer: bool) -> None:
        """Collected here and attached once at the end (rebuilding the config each time is slow)."""
        self.history.append(History(created_by=created_by, comment=HISTORY_COMMENT, empty_layer=empty_layer))

    def final_config(self) -> ImageConfig:
        config = replace(self.config.config, env=tuple(f"{k}={v}" for k, v in self.image_env.items()),
                         labels=dict(self.labels))
        return replace(self.config, config=config, history=(*self.config.history, *self.history))

    def expansion_env(self) -> Mapping[str, str]:
        """The environment words expand in (BuildKit's ``getEnv(d.state)``); read it, do not modify it."""
        return self.build_env

    def set_env(self, name: str, value: str) -> None:
        """llb ``EnvList.AddOrReplace``: the name takes the new value and moves to the end."""
        self.build_env.pop(name, None)
        self.build_env[name] = value

    def set_image_env(self, name: str, value: str) -> None:
        """ENV: the config's entry is replaced in place (dockerfile2llb ``addEnv``), the build env's moved."""
        self.image_env[name] = value
        self.set_env(name, value)


@dataclass
class Usage:
    """What the planned stages use: secrets and ssh ids (for ``--call=outline``), stages in order."""

    secrets: dict[str, bool] = field(default_factory=dict)
    ssh: dict[str, bool] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)


class Converter(Protocol):
    """What a handler may ask of the converter (:class:`~dockyard.dockerfile.convert.StageConverter`)."""

    @property
    def context(self) -> ContextSource:
        """The build context, the source of COPY/ADD and of a bind mount without ``from=``."""
        ...

    @property
    def usage(self) -> Usage:
        """Where handlers record the secrets and ssh ids a RUN mounts."""
        ...

    def fail(self, message: str, line: int | None, hint: str | None = None) -> DockerfileError:
        """The error to raise for ``line`` of this Dockerfile."""
        ...

    def expand(self, word: str, env: Mapping[str, str], line: int, *, escape: str | None = None,
               skip_quotes: bool = False) -> str:
        """``word`` with variables expanded in ``env``; a bad expansion fails at ``line``."""
        ...

    def expand_words(self, word: str, env: Mapping[str, str], line: int) -> tuple[str, ...]:
        """``word`` expanded and split on unquoted blanks (BuildKit ``ProcessWords``)."""
        ...

    def source_for(self, ref: str, line: int, *, scope: StageScope, mount_target: str = "") -> tuple[State, Platform]:
        """The filesystem a ``--from``/``from=`` names: a stage (converted first if need be) or an image."""
        ...

    def declare_arg(self, scope: StageScope, arg: ins.Arg) -> None:
        """ARG inside a stage: its value from the build args, the default or the global scope."""
        ...

"""Typed Dockerfile instructions: one frozen dataclass per instruction, flags checked.

Values are kept as written (not yet expanded): the same instruction is expanded once per
target platform, with that platform's automatic ARGs, when the graph is built. Flags that
take a fixed vocabulary (``--network``, ``--security``, ``--link``, ``--retries`` ...) are
already validated here, so an error points at its line before any planning starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.oci.config import Healthcheck as HealthConfig


@dataclass(frozen=True, kw_only=True)
class Instruction:
    """Common part: where the instruction is, and its source text for messages."""

    line: int
    end_line: int
    original: str


@dataclass(frozen=True, kw_only=True)
class From(Instruction):
    """``FROM image [AS name]`` with ``--platform``: starts a stage."""

    image: str
    name: str = ""
    platform: str = ""


@dataclass(frozen=True, kw_only=True)
class HeredocSource:
    """An inline file (``<<NAME``) in RUN, COPY or ADD; ``expand`` is False when quoted."""

    name: str
    content: str
    expand: bool


@dataclass(frozen=True, kw_only=True)
class Run(Instruction):
    """``RUN``; ``args`` is the JSON argv, or one shell string when ``json`` is False.

    ``mounts`` are the raw ``--mount`` specs: they may hold variables, so they are parsed
    into :class:`~dockyard.dockerfile.runmount.MountSpec` when expanded.
    """

    args: tuple[str, ...]
    json: bool
    heredocs: tuple[HeredocSource, ...] = ()
    mounts: tuple[str, ...] = ()
    network: str = "default"
    security: str = "sandbox"


@dataclass(frozen=True, kw_only=True)
class Cmd(Instruction):
    """``CMD``: the default command (exec form when ``json``)."""

    args: tuple[str, ...]
    json: bool


@dataclass(frozen=True, kw_only=True)
class Entrypoint(Instruction):
    """``ENTRYPOINT``: the command the image runs (exec form when ``json``)."""

    args: tuple[str, ...]
    json: bool


@dataclass(frozen=True, kw_only=True)
class Label(Instruction):
    """``LABEL k=v ...`` (``legacy``: the space-separated one-pair form)."""

    pairs: tuple[tuple[str, str], ...]
    legacy: bool = False


@dataclass(frozen=True, kw_only=True)
class Env(Instruction):
    """``ENV k=v ...`` (``legacy``: the space-separated one-pair form)."""

    pairs: tuple[tuple[str, str], ...]
    legacy: bool = False


@dataclass(frozen=True, kw_only=True)
class Maintainer(Instruction):
    """``MAINTAINER`` (deprecated; becomes the author field)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class Expose(Instruction):
    """``EXPOSE port[/proto] ...``."""

    ports: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Copy(Instruction):
    """``COPY``; ``sources`` are paths (context or ``--from``), ``inline`` heredoc files."""

    sources: tuple[str, ...]
    dest: str
    inline: tuple[HeredocSource, ...] = ()
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Add(Instruction):
    """``ADD``: like COPY, plus URLs, git repositories and archive unpacking."""

    sources: tuple[str, ...]
    dest: str
    inline: tuple[HeredocSource, ...] = ()
    chown: str = ""
    chmod: str = ""
    link: bool = False
    checksum: str = ""
    keep_git_dir: bool = False
    unpack: bool | None = None
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Volume(Instruction):
    """``VOLUME`` paths (JSON or space-separated)."""

    paths: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class User(Instruction):
    """``USER user[:group]``."""

    user: str


@dataclass(frozen=True, kw_only=True)
class Workdir(Instruction):
    """``WORKDIR path``."""

    path: str


@dataclass(frozen=True, kw_only=True)
class ArgDef:
    """One name of an ``ARG`` line; ``default`` is None when no ``=`` was given."""

    name: str
    default: str | None
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Arg(Instruction):
    """``ARG name[=default] ...``."""

    args: tuple[ArgDef, ...]


@dataclass(frozen=True, kw_only=True)
class Onbuild(Instruction):
    """``ONBUILD``: the trigger text is stored verbatim in the image config."""

    trigger: str


@dataclass(frozen=True, kw_only=True)
class StopSignal(Instruction):
    """``STOPSIGNAL``."""

    signal: str


@dataclass(frozen=True, kw_only=True)
class Healthcheck(Instruction):
    """``HEALTHCHECK``: the image config's value it sets (durations in nanoseconds, 0 = inherit)."""

    check: HealthConfig


@dataclass(frozen=True, kw_only=True)
class Shell(Instruction):
    """``SHELL`` (always JSON): the shell of later shell-form instructions."""

    argv: tuple[str, ...]


STAGE_INSTRUCTIONS = (
    Run,
    Cmd,
    Entrypoint,
    Label,
    Env,
    Maintainer,
    Expose,
    Copy,
    Add,
    Volume,
    User,
    Workdir,
    Arg,
    Onbuild,
    StopSignal,
    Healthcheck,
    Shell,
)

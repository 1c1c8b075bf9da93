"""Build arguments: the automatic platform ARGs and the global (pre-FROM) ARG scope.

Each target platform gets its own ``TARGET*`` values, while ``BUILD*`` describe the machine
that runs the build, so one Dockerfile plans differently per platform. Automatic ARGs are
visible to FROM lines without a declaration; inside a stage they must be declared with
``ARG NAME`` (no value) to be seen, as in BuildKit. A ``--build-arg`` overrides a default;
one that no ARG consumes is reported back (BuildKit warns about it too).
"""

from __future__ import annotations

from collections.abc import Mapping

from dockyard.dockerfile import instructions as ins
from dockyard.dockerfile.shell import ExpansionError, expand_word
from dockyard.errors import DockerfileError
from dockyard.platform import Platform

PLATFORM_ARGS = (
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDOSVERSION",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETOSVERSION",
    "TARGETARCH",
    "TARGETVARIANT",
    "TARGETSTAGE",
)


def platform_args(target: Platform, build: Platform, *, stage: str = "") -> dict[str, str]:
    """The automatic ARGs for one target platform built on ``build``, as BuildKit's ``defaultArgs``
    (dockerfile2llb/platform.go) makes them; ``stage`` is the target stage's name (``--target``,
    else the last stage's), "default" when it has none. OS versions are empty: only Windows
    platforms carry one, and dockyard builds Linux images."""
    return {
        "BUILDPLATFORM": str(build),
        "BUILDOS": build.os,
        "BUILDOSVERSION": "",
        "BUILDARCH": build.architecture,
        "BUILDVARIANT": build.variant,
        "TARGETPLATFORM": str(target),
        "TARGETOS": target.os,
        "TARGETOSVERSION": "",
        "TARGETARCH": target.architecture,
        "TARGETVARIANT": target.variant,
        "TARGETSTAGE": stage or "default",
    }


def global_scope(
    meta_args: tuple[ins.Arg, ...],
    *,
    build_args: Mapping[str, str],
    automatic: Mapping[str, str],
    filename: str,
    escape: str,
) -> tuple[dict[str, str], dict[str, str | None]]:
    """``(scope for FROM lines, declared meta ARG values)``; undeclared names stay out."""
    declared: dict[str, str | None] = {}
    scope = dict(automatic)
    for arg in meta_args:
        for item in arg.args:
            if item.name in build_args:
                value: str | None = build_args[item.name]
            elif item.default is not None:
                try:
                    value = expand_word(item.default, scope, escape=escape)
                except ExpansionError as exc:
                    raise DockerfileError(f"ARG: {exc}", file=filename, line=arg.line) from None
            else:
                value = automatic.get(item.name)
            declared[item.name] = value
            if value is not None:
                scope[item.name] = value
            else:
                scope.pop(item.name, None)
    return scope, declared

"""SLSA v1 provenance shaped as BuildKit writes it (docs/attestations/slsa-definitions.md there).

``buildDefinition.externalParameters`` holds the config source (the Dockerfile's path, and
its digest) and the request (frontend, args, secrets and ssh ids, locals);
``resolvedDependencies`` names every base image by purl with the digest it resolved to;
``runDetails`` names the builder, the invocation and its times, and the context's git
revision when the context is a git checkout. ``mode=min`` (buildx's default) leaves out
build-arg and label values and secret/ssh ids, as BuildKit's min mode does; ``mode=max``
adds them and the build steps (``internalParameters.buildConfig``) and the Dockerfile text.

Secret *values* are never read here: the request carries secret ids only, and URLs lose any
user:password part (:func:`strip_credentials`) before they are written.
"""

from __future__ import annotations

import dataclasses
import enum
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dockyard.attest.packages import image_purl
from dockyard.digest import Digest
from dockyard.engine.bases import ResolvedBase
from dockyard.graph import ops
from dockyard.graph.walk import topological
from dockyard.platform import Platform
from dockyard.reference import Reference

BUILD_TYPE = "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"
FRONTEND = "dockerfile.v0"
DEFAULT_BUILDER_ID = "https://github.com/dockyard/dockyard"  # overridden by --attest ...,builder-id=


class Mode(enum.Enum):
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True, kw_only=True)
class Vcs:
    """The context's git checkout: BuildKit's ``vcs:source`` and ``vcs:revision`` hints."""

    source: str = ""
    revision: str = ""


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """What a build was asked to do and how it went: the same for every platform of one build."""

    dockerfile_path: str  # relative to the context, as BuildKit's ``filename``
    dockerfile: bytes = b""
    args: Mapping[str, str] = field(default_factory=dict)  # "build-arg:X", "label:X", "target"
    secret_ids: tuple[str, ...] = ()
    ssh_ids: tuple[str, ...] = ()
    builder_id: str = DEFAULT_BUILDER_ID
    builder_platform: Platform = field(default_factory=Platform.host)
    invocation_id: str = ""
    started: str = ""
    finished: str = ""
    vcs: Vcs = field(default_factory=Vcs)
    reproducible: bool = False
    network: bool = True  # some RUN step had network access (BuildKit's hermetic is the opposite)


def strip_credentials(url: str) -> str:
    """``https://user:token@host/x`` -> ``https://host/x``: provenance must never carry a credential."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def git_vcs(context: Path) -> Vcs:
    """The git revision and remote of ``context`` when it is inside a checkout (no git: nothing)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(context), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    revision = git("rev-parse", "--verify", "-q", "HEAD")
    if not revision:
        return Vcs()
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return Vcs(source=strip_credentials(git("config", "--get", "remote.origin.url")),
               revision=revision + ("-dirty" if dirty else ""))


def dependency_uri(base: ResolvedBase) -> str:
    """``pkg:docker/debian@bookworm?platform=linux%2Famd64``, as BuildKit's purl.RefToPURL writes it."""
    return image_purl(Reference.parse(base.ref), base.platform)


def _step_value(value: Any, ids: Mapping[int, str]) -> Any:
    if isinstance(value, ops.Op):
        return ids[id(value)]
    if isinstance(value, Platform):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _step_value(getattr(value, f.name), ids) for f in dataclasses.fields(value)
                if getattr(value, f.name) not in (None, "", (), 0, False)}
    if isinstance(value, tuple | list):
        return [_step_value(v, ids) for v in value]
    if isinstance(value, str) and "://" in value:
        return strip_credentials(value)
    return value


def steps(root: ops.State) -> list[dict[str, Any]]:
    """The build steps (max mode's ``buildConfig.llbDefinition``): each op with its inputs by id."""
    order = topological([root])
    ids = {id(op): f"step{n}" for n, op in enumerate(order)}
    out = []
    for op in order:
        body = {f.name: _step_value(getattr(op, f.name), ids) for f in dataclasses.fields(op)
                if not isinstance(getattr(op, f.name), ops.Op) and getattr(op, f.name) not in (None, "", (), 0)}
        out.append({"id": ids[id(op)], "op": {type(op).__name__.lower(): body},
                    "inputs": [ids[id(i)] for i in op.inputs]})
    return out


def predicate(inv: Invocation, *, bases: Sequence[ResolvedBase], mode: Mode,
              root: ops.State = None) -> dict[str, Any]:
    """The SLSA v1 predicate for one platform's image built from ``root`` on top of ``bases``."""
    full = mode is Mode.MAX
    args = {k: strip_credentials(v) for k, v in sorted(inv.args.items())
            if full or not k.startswith(("build-arg:", "label:"))}
    request: dict[str, Any] = {"frontend": FRONTEND, "args": args,
                               "locals": [{"name": "context"}, {"name": "dockerfile"}]}
    if full:
        request["secrets"] = [{"id": s} for s in inv.secret_ids]
        request["ssh"] = [{"id": s} for s in inv.ssh_ids]
    config_source: dict[str, Any] = {"path": inv.dockerfile_path}
    if inv.dockerfile:
        config_source["digest"] = {"sha256": Digest.of_bytes(inv.dockerfile).hex}
    internal: dict[str, Any] = {"builderPlatform": str(inv.builder_platform)}
    metadata: dict[str, Any] = {"buildkit_metadata": {}}
    if full:
        internal["buildConfig"] = {"llbDefinition": steps(root)}
        if inv.dockerfile:
            metadata["buildkit_metadata"]["source"] = {"infos": [{
                "filename": inv.dockerfile_path, "language": "Dockerfile",
                "data": inv.dockerfile.decode("utf-8", "replace")}]}
    if inv.vcs.revision:
        metadata["buildkit_metadata"]["vcs"] = {k: v for k, v in (("source", inv.vcs.source),
                                                                  ("revision", inv.vcs.revision)) if v}
    for key, value in (("invocationID", inv.invocation_id), ("startedOn", inv.started),
                       ("finishedOn", inv.finished)):
        if value:
            metadata[key] = value
    if not inv.network:
        metadata["buildkit_hermetic"] = True
    metadata["buildkit_completeness"] = {"request": full or not any(
        k.startswith(("build-arg:", "label:")) for k in inv.args), "resolvedDependencies": False}
    if inv.reproducible:
        metadata["buildkit_reproducible"] = True
    seen: set[tuple[str, Digest]] = set()
    dependencies = []
    for base in bases:
        uri = dependency_uri(base)
        if (uri, base.digest) not in seen:
            seen.add((uri, base.digest))
            dependencies.append({"uri": uri, "digest": {base.digest.algorithm: base.digest.hex}})
    return {
        "buildDefinition": {"buildType": BUILD_TYPE,
                            "externalParameters": {"configSource": config_source, "request": request},
                            "internalParameters": internal, "resolvedDependencies": dependencies},
        "runDetails": {"builder": {"id": inv.builder_id}, "metadata": metadata},
    }

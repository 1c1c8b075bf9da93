"""``dockyard build``'s flags for a real build, as click parsed them: typed, frozen, read once.

Kept apart from ``cli/buildrun.py`` (which imports the engine) so ``cli/build.py`` can gather
them without loading what ``--call``/``--dry-run`` never use. The values stay as given (spec
strings, paths); ``cli/buildrun.py`` and ``cli/buildrelease.py`` turn them into the library's
request (:class:`dockyard.api.build.BuildCall`) in a fixed order, so errors come as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dockyard.cli.releaseoptions import ReleaseOptions


@dataclass(frozen=True, kw_only=True)
class ReleaseFlags:
    """-t, --tags-from-git and its release options, --annotation, the gates and --push-retry."""

    tags: tuple[str, ...] = ()
    tags_from_git: bool = False
    release: ReleaseOptions = field(default_factory=ReleaseOptions)
    annotations: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    gate_mode: str | None = None  # enforce|warn; None: the policy file's, else enforce
    gate_policy: Path | None = None
    push_retry: int = 0


@dataclass(frozen=True, kw_only=True)
class AttestFlags:
    """--attest, its shorthands --provenance and --sbom (None: not given), and --attest-storage."""

    attest: tuple[str, ...] = ()
    provenance: str | None = None
    sbom: str | None = None
    storage: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunFlags:
    """Everything a real build takes besides the :class:`~dockyard.dockerfile.request.BuildRequest`."""

    builder: str | None = None
    secrets: tuple[str, ...] = ()
    ssh: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    push: bool = False
    load: bool = False
    push_timeout: str | None = None  # a duration (90s, 10m) or seconds; None: the default limit
    no_cache: bool = False
    no_cache_filter: tuple[str, ...] = ()
    progress: str = "auto"
    metadata_file: Path | None = None
    iidfile: Path | None = None
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # KEY=VALUE
    attest: AttestFlags = field(default_factory=AttestFlags)
    sign: str | None = None  # key=PATH[,format=classic|bundle]
    placement: str | None = None
    release: ReleaseFlags = field(default_factory=ReleaseFlags)

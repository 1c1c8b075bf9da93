"""``dockyard build``'s flags for a real build, as click parsed them: typed, frozen, read once.

Kept apart from ``cli/buildrun.py`` (which imports the engine) so ``cli/build.py`` can gather
them without loading what ``--call``/``--dry-run`` never use. The values stay as given (spec
strings, paths); ``cli/buildrun.py`` turns them into the library's request
(:class:`dockyard.api.build.BuildCall`, the release part through :func:`dockyard.api.release.plan`)
in a fixed order, so errors come as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dockyard.api.release import ReleaseRequest


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
    release: ReleaseRequest = field(default_factory=ReleaseRequest)  # -t, --tags-from-git, gates, ...

"""A whole ``dockyard build`` as one typed request, before anything is checked against the world.

``dockyard build`` parses its flags into a :class:`BuildSpec` and :func:`dockyard.build` makes
one of its plain arguments; both hand it to :func:`dockyard.api.build.make_call`, the one place
that turns it into the library's :class:`~dockyard.api.build.BuildCall`, so a flag and its API
argument cannot drift apart. The field names are the API's (buildx's flags in Python spelling);
values stay as given (spec strings, paths). Kept apart from :mod:`dockyard.api.build`, which
imports the engine, so that ``cli/build.py`` can hold one cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.api.release import ReleaseRequest
from dockyard.platform import Platform


@dataclass(frozen=True, kw_only=True)
class BuildSpec:
    """The build's values as typed at the boundary; the release step (-t, --tags-from-git,
    --annotation, the gates, --push-retry) is the nested :class:`ReleaseRequest`."""

    context: Path
    file: Path | None = None  # None: context/Dockerfile
    platforms: tuple[Platform, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    ssh: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    push: bool = False
    load: bool = False
    push_timeout: str | float | None = None  # a duration (90s, 10m) or seconds; None: the default limit
    no_cache: bool = False
    no_cache_filter: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    metadata_file: Path | None = None
    iidfile: Path | None = None
    builder: str | None = None  # None: the builder in use
    placement: str | None = None
    attest: tuple[str, ...] = ()
    provenance: str | None = None  # --provenance's text (true, false, mode=max); None: not given
    sbom: str | None = None
    attest_storage: str | None = None
    sign: str | None = None  # key=PATH[,format=classic|bundle]
    registry_ca: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)  # more CA files per registry host
    release: ReleaseRequest = field(default_factory=ReleaseRequest)

    @property
    def dockerfile(self) -> Path:
        return self.file if self.file is not None else self.context / "Dockerfile"

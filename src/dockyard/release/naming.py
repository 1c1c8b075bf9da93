"""What a release build is called and labelled: ``--tags-from-git`` and its options applied to
the ``-t`` names, the ``--label`` values and the ``--annotation`` values of one build.

One function for ``dockyard build`` and ``dockyard.build`` alike, so the CLI and the API can
never name a release differently. Everything is checked here, before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import UsageError
from dockyard.oci.annotations import ExportAnnotations, merged, parse_cli, standard

if TYPE_CHECKING:  # the git context and tag rules load only for --tags-from-git
    from dockyard.release.meta import Meta

# What ``--tags-from-git`` tags without ``--tag-spec``: a release's versions, else ref and sha.
# metadata-action's own default (schedule, branch, tag, pr) would push a tag named ``v1.2.3``
# rather than ``1.2.3``/``1.2``/``1``; a release pipeline wants the semver set. ``--tag-spec``
# replaces it (``dockyard meta`` keeps metadata-action's default, as a drop-in for that step).
RELEASE_SPECS = ("type=schedule", "type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
                 "type=semver,pattern={{major}}", "type=ref,event=branch", "type=ref,event=pr", "type=sha")


@dataclass(frozen=True, kw_only=True)
class ReleaseNames:
    """The final tags and labels of a build, its annotations (``--annotation`` and the standard
    ones), whether the base image annotations are added too, and the computation (None without
    ``--tags-from-git``)."""

    tags: tuple[str, ...]
    labels: dict[str, str]
    annotations: ExportAnnotations = field(default_factory=ExportAnnotations)
    base_annotations: bool = False  # base.name/base.digest: known only after keying (BuildOptions)
    meta: Meta | None = None

    def metadata(self) -> dict[str, Any]:
        """``dockyard.release`` for ``--metadata-file``: the version, tags and labels from git (none without)."""
        if self.meta is None:
            return {}
        return {"dockyard.release": {"version": self.meta.version.main or "", "tags": list(self.tags),
                                     "labels": dict(self.meta.labels)}}


def name_release(context: Path, *, tags: Sequence[str], labels: Mapping[str, str], annotations: Sequence[str],
                 tags_from_git: bool, tag_specs: Sequence[str] = (), flavor: Sequence[str] = (),
                 default_labels: bool = True, platforms: int, warn: Callable[[str], None]) -> ReleaseNames:
    """The names of a build of ``context`` (the git repository read when no CI variables are set).

    ``labels`` (``--label``) win over the computed ones and ``annotations`` (``--annotation``)
    over the standard ones; ``platforms`` is how many were asked for (the standard annotations go
    on the index too when there is one); ``warn`` gets each warning line (a tag that is not a version).
    """
    given = parse_cli(annotations)
    if not tags_from_git:
        if tag_specs or flavor or not default_labels:
            raise UsageError("--tag-spec, --flavor and --no-default-labels need --tags-from-git")
        return ReleaseNames(tags=tuple(tags), labels=dict(labels), annotations=given)
    from dockyard.release.gitcontext import from_environment
    from dockyard.release.meta import compute, name_images

    meta = compute(from_environment(repo=context), specs=tuple(tag_specs) or RELEASE_SPECS, flavor=flavor,
                   default_labels=default_labels)
    for warning in meta.warnings:
        warn(f"WARNING: {warning}")
    named = tuple(name_images(tags, meta))
    if tags and not named:
        raise UsageError("no tag could be computed from git for the -t names",
                         hint="check the ref with `dockyard meta --format json`, or pass --tag-spec")
    if default_labels:
        given = merged(standard(meta.labels, index=platforms > 1), given)  # given ones win
    return ReleaseNames(tags=named, labels={**meta.labels, **labels}, annotations=given,
                        base_annotations=default_labels, meta=meta)

"""``dockyard.meta``: the tags, labels and annotations a release would get, as ``dockyard meta`` prints them.

For a pipeline step that needs the names without building (another tool pushes, a later job
reads them), the same computation as docker/metadata-action (:mod:`dockyard.release.meta`).
Unlike ``dockyard.build(tags_from_git=True)``, it keeps metadata-action's default tag specs
when none are given, so it is a drop-in for that action's step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard import arguments


@dataclass(frozen=True)
class MetaOutcome:
    """What :func:`dockyard.meta` computed: ``version`` (the main tag, "" when none), ``tags``
    (``image:tag`` for each ``images`` name, else bare names), ``tag_names``, whether ``latest``
    is among them, ``labels`` (the standard OCI ones and the given ones), ``annotations`` (the
    labels as ``--annotation`` values at the manifest level, as metadata-action's output) and
    ``warnings``; ``json`` is the document ``dockyard meta --format json`` prints."""

    version: str
    tags: tuple[str, ...]
    tag_names: tuple[str, ...]
    latest: bool
    labels: dict[str, str]
    annotations: tuple[str, ...]
    warnings: tuple[str, ...]
    json: dict[str, Any] = field(repr=False)


def _label_lines(value: object) -> tuple[str, ...]:
    """``labels`` as ``KEY=VALUE`` lines: a dict, or lines as ``--label`` takes them."""
    if isinstance(value, Mapping):
        return tuple(f"{k}={v}" for k, v in arguments.mapping("labels", value).items())
    return arguments.strings("labels", value)


def meta(repo: str | os.PathLike[str] = ".", *, images: str | Sequence[str] = (),
         tag_specs: str | Sequence[str] = (), flavor: str | Sequence[str] = (),
         labels: Mapping[str, str] | Sequence[str] = (), no_default_labels: bool = False) -> MetaOutcome:
    """Compute tags and OCI labels from git and the CI environment, as docker/metadata-action does.

    The facts come from the CI's variables when a CI set them (GitHub Actions: ``GITHUB_REF``,
    ``GITHUB_SHA``, ``GITHUB_EVENT_NAME``; GitLab CI: ``CI_COMMIT_TAG``, ``CI_COMMIT_BRANCH``,
    ``CI_MERGE_REQUEST_IID``, ``CI_COMMIT_SHA``), else from the git repository at ``repo``. The
    arguments are ``dockyard meta``'s flags: ``images`` (``--image``, metadata-action's images
    lines), ``tag_specs`` (``--tag-spec`` lines such as ``"type=semver,pattern={{version}}"``;
    none: metadata-action's defaults), ``flavor`` (``"latest=false"``, ``"prefix=v"``),
    ``labels`` (a dict, or ``KEY=VALUE`` lines whose ``{{...}}`` are expanded) and
    ``no_default_labels`` (leave out the ``org.opencontainers.image.*`` labels).

    Returns a :class:`MetaOutcome`; a bad spec, image name or label raises
    :class:`~dockyard.errors.UsageError` (an :class:`~dockyard.errors.ArgumentError` for a wrong
    argument type), and a directory outside git with no CI variables raises a ``UsageError`` too.
    """
    from dockyard.release.gitcontext import from_environment
    from dockyard.release.meta import compute

    where = arguments.path("repo", repo)
    assert where is not None
    specs, flavors = arguments.strings("tag_specs", tag_specs), arguments.strings("flavor", flavor)
    names, lines = arguments.strings("images", images), _label_lines(labels)
    default_labels = not arguments.flag("no_default_labels", no_default_labels)
    computed = compute(from_environment(repo=where), specs=specs, flavor=flavors, images=names, labels=lines,
                       default_labels=default_labels)
    doc = computed.as_json()
    return MetaOutcome(version=computed.version.main or "", tags=tuple(computed.tags),
                       tag_names=tuple(computed.tag_names), latest=computed.version.latest,
                       labels=dict(computed.labels), annotations=tuple(computed.annotations),
                       warnings=computed.warnings, json=doc)

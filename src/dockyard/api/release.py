"""The release step of a build as one typed request: names from git, ``--annotation``, the
quality gates and ``--push-retry`` (issue 13), planned once for ``dockyard build`` and
``dockyard.build`` alike.

:func:`plan` checks everything before anything is built and returns a :class:`Release`: the
final names (:mod:`dockyard.release.naming`), the gate policy, and the build's delivery gate
(which also writes ``dockyard.release`` into ``--metadata-file``). Heavy parts (git, the gate
policy) load inside :func:`plan`, so the CLI can hold a :class:`ReleaseRequest` cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.api.gate import PolicyDelivery
    from dockyard.gates.policy import GatePolicy
    from dockyard.release.naming import ReleaseNames


@dataclass(frozen=True, kw_only=True)
class ReleaseRequest:
    """-t, --tags-from-git with --tag-spec/--flavor/--no-default-labels, --annotation, the gates
    and --push-retry, as given (spec strings, paths)."""

    tags: tuple[str, ...] = ()
    tags_from_git: bool = False
    tag_specs: tuple[str, ...] = ()
    flavor: tuple[str, ...] = ()
    default_labels: bool = True  # False: --no-default-labels
    annotations: tuple[str, ...] = ()
    gates: tuple[str, ...] = ()
    gate_mode: str | None = None  # enforce|warn; None: the policy file's, else enforce
    gate_policy: Path | None = None
    push_retry: int = 0


@dataclass(frozen=True, kw_only=True)
class Release:
    """What the release options decided: the names, the gate policy, retries, and the gate's report line sink."""

    names: ReleaseNames
    policy: GatePolicy
    push_retry: int = 0
    report: Callable[[str], None]

    @property
    def early_push(self) -> bool:
        """Nodes may push by digest while building only when no gate has to pass first."""
        return self.policy.empty

    def delivery_gate(self) -> PolicyDelivery | None:
        """The build's delivery gate: the policy, then ``dockyard.gates``/``dockyard.release`` metadata."""
        if self.policy.empty and self.names.meta is None:
            return None
        from dockyard.api.gate import PolicyDelivery

        return PolicyDelivery(self.policy, report=self.report, extra=self.names.metadata())


def plan(context: Path, request: ReleaseRequest, *, labels: Mapping[str, str], platforms: int,
         report: Callable[[str], None]) -> Release:
    """``request`` for a build of ``context``; ``labels`` are the ``--label`` values, ``platforms``
    the number asked for; ``report`` gets warnings and the gate table."""
    from dockyard.gates.policy import build_policy
    from dockyard.release.naming import name_release

    names = name_release(context, tags=request.tags, labels=labels, annotations=request.annotations,
                         tags_from_git=request.tags_from_git, tag_specs=request.tag_specs, flavor=request.flavor,
                         default_labels=request.default_labels, platforms=platforms, warn=report)
    policy = build_policy(request.gates, project=context, mode=request.gate_mode, policy_file=request.gate_policy)
    return Release(names=names, policy=policy, push_retry=request.push_retry, report=report)

"""The release parts of ``dockyard build``: names and labels from git, gates, and their metadata.

Kept out of ``cli/buildrun.py`` so a build without release options runs exactly as before:
:func:`plan` reads the flags once (all errors before anything is built), :meth:`Release.gate`
runs the gate phase (``api.gate.run_gates``) on the result of all nodes, before delivery, and
:meth:`Release.metadata` adds dockyard's keys to ``--metadata-file``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from dockyard.api.gate import gate_metadata, run_gates
from dockyard.cli.buildflags import ReleaseFlags
from dockyard.errors import UsageError
from dockyard.gates.outcome import GateReport
from dockyard.gates.policy import GatePolicy, build_policy
from dockyard.oci.annotations import ExportAnnotations, merged, parse_cli, standard
from dockyard.phases.deliver import Delivery
from dockyard.phases.result import BuildResult
from dockyard.release.meta import Meta


@dataclass(frozen=True, kw_only=True)
class Release:
    """What the release options decided: the final names and labels, annotations, gates, retries."""

    tags: tuple[str, ...]
    labels: dict[str, str]
    annotations: ExportAnnotations = field(default_factory=ExportAnnotations)  # --annotation and the standard ones
    base_annotations: bool = False  # the standard base.name/base.digest too (known after keying: BuildOptions)
    policy: GatePolicy
    push_retry: int = 0
    meta: Meta | None = None

    def gate(self, result: BuildResult, delivery: Delivery, *, metadata_extra: Mapping[str, Any]) -> GateReport | None:
        """Run the policy (``api.gate.run_gates``), its table on stderr; a failure stops the build before delivery."""
        return run_gates(self.policy, result, delivery, metadata_extra=metadata_extra,
                         report=lambda text: click.echo(text, err=True), metadata=self.metadata)

    def delivery_gate(self, result: BuildResult, delivery: Delivery, *,
                      metadata_extra: Mapping[str, Any]) -> dict[str, Any]:
        """The build's delivery gate (``api.build.DeliveryGate``): :meth:`gate`, then its metadata keys."""
        return self.metadata(self.gate(result, delivery, metadata_extra=metadata_extra))

    def metadata(self, report: GateReport | None) -> dict[str, Any]:
        """dockyard's keys for --metadata-file: ``dockyard.gates`` and ``dockyard.release``."""
        extra = gate_metadata(report)
        if self.meta is not None:
            extra["dockyard.release"] = {"version": self.meta.version.main or "", "tags": list(self.tags),
                                         "labels": dict(self.meta.labels)}
        return extra


def plan(context: Path, flags: ReleaseFlags, *, labels: dict[str, str], platforms: int) -> Release:
    """Read the release flags; ``labels`` are the ``--label`` values and ``platforms`` the number of
    platforms asked for (the standard annotations go on the index too when there is one)."""
    release = flags.release
    annotations = parse_cli(flags.annotations)
    tags = flags.tags
    meta = None
    if flags.tags_from_git:
        from dockyard.release.gitcontext import from_environment
        from dockyard.release.meta import compute, name_images

        meta = compute(from_environment(repo=context), specs=release.specs or _default_specs(), flavor=release.flavor,
                       default_labels=release.default_labels)
        for warning in meta.warnings:
            click.echo(f"WARNING: {warning}", err=True)
        tags = tuple(name_images(tags, meta))
        if flags.tags and not tags:
            raise UsageError("no tag could be computed from git for the -t names",
                             hint="check the ref with `dockyard meta --format json`, or pass --tag-spec")
        labels = {**meta.labels, **labels}
        if release.default_labels:
            annotations = merged(standard(meta.labels, index=platforms > 1), annotations)  # given ones win
    elif release.specs or release.flavor or release.default_labels is False:
        raise UsageError("--tag-spec, --flavor and --no-default-labels need --tags-from-git")
    policy = build_policy(flags.gates, project=context, mode=flags.gate_mode, policy_file=flags.gate_policy)
    return Release(tags=tags, labels=labels, annotations=annotations,
                   base_annotations=flags.tags_from_git and release.default_labels,
                   policy=policy, push_retry=flags.push_retry, meta=meta)


def _default_specs() -> tuple[str, ...]:
    """What ``--tags-from-git`` tags without ``--tag-spec``: a release's versions, else ref and sha.

    metadata-action's own default (schedule, branch, tag, pr) would push a tag named ``v1.2.3``
    rather than ``1.2.3``/``1.2``/``1``; a release pipeline wants the semver set. ``--tag-spec``
    replaces it.
    """
    return ("type=schedule", "type=semver,pattern={{version}}", "type=semver,pattern={{major}}.{{minor}}",
            "type=semver,pattern={{major}}", "type=ref,event=branch", "type=ref,event=pr", "type=sha")

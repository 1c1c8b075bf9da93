"""Attest phase: a hook that adds attestations (SBOM, provenance) to an assembled image.

An :class:`Attestor` receives the assembled :class:`~dockyard.phases.result.BuildResult`
(every blob in its content store) and returns a new one: typically an index that also
carries attestation manifests (BuildKit's ``vnd.docker.reference.type: attestation-manifest``
entries), written to the same store. Attestors run in the order given, each seeing the
previous one's result; the build runs the ones its caller passes.

:class:`BuildAttestor` is the built-in one (``--attest``, ``--sbom``, ``--provenance``; made by
:func:`for_build`): SBOM and provenance statements from :mod:`dockyard.attest`, stored in the
index as buildx does or as OCI 1.1 referrers that delivery pushes before any tag. It is made
with what the request says (options, Dockerfile, args, secret ids, the image's name) and reads
what the build found from the result (each platform's manifest and graph, the bases as
resolved). Timestamps and the invocation id make every build's provenance unique; with
SOURCE_DATE_EPOCH set they are left out and the SBOM's creation time is the epoch, so
attestations are as reproducible as the image.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dockyard.attest.options import AttestOptions
from dockyard.attest.provenance import Invocation, Vcs, git_vcs
from dockyard.attest.storage import attach
from dockyard.dockerfile.sbomscan import ScanRequest
from dockyard.engine.bases import ResolvedBase
from dockyard.graph import ops
from dockyard.graph.walk import topological
from dockyard.oci import mediatypes
from dockyard.oci.index import Index
from dockyard.oci.source import read_document
from dockyard.phases.result import BuildResult
from dockyard.platform import Platform
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.selector import SourceTree as Tree


@runtime_checkable
class Attestor(Protocol):
    """Makes attestations for a build result and returns the result that carries them."""

    def attest(self, result: BuildResult) -> BuildResult: ...


@runtime_checkable
class DescribesStages(Protocol):
    """An attestor whose SBOM describes more than the final image: the build also resolves the
    stages ``sbom_scan`` selects (with the Dockerfile's BUILDKIT_SBOM_SCAN_* ARGs) and hands their
    layers over in ``BuildResult.stages`` (None: nothing besides the final image)."""

    @property
    def sbom_scan(self) -> ScanRequest | None: ...


def attest(result: BuildResult, attestors: Sequence[Attestor]) -> BuildResult:
    """Run ``attestors`` in order over ``result`` (none: ``result`` unchanged)."""
    for attestor in attestors:
        result = attestor.attest(result)
    return result


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bases_of(root: ops.State, resolved: tuple[ResolvedBase, ...]) -> list[ResolvedBase]:
    """The resolved bases this platform's graph reads (a ``FROM --platform=$BUILDPLATFORM`` stage included)."""
    wanted = {(op.ref, op.platform) for op in topological([root]) if isinstance(op, ops.ImageSource)}
    return [b for b in resolved if (b.ref, b.platform) in wanted]


@dataclass(frozen=True, kw_only=True)
class BuildAttestor:
    """Implements the build's ``Attestor`` hook for ``options`` (see the module docstring)."""

    options: AttestOptions
    invocation: Invocation
    name: Reference | None = None
    source_date_epoch: int | None = None
    oci: bool = True
    started: str = field(default_factory=_now)
    context: Path | None = None  # the build context, catalogued when BUILDKIT_SBOM_SCAN_CONTEXT asks
    ignore: tuple[str, ...] = ()  # its .dockerignore patterns

    @property
    def sbom_scan(self) -> ScanRequest | None:
        return self.options.scan if self.options.sbom else None

    def attest(self, result: BuildResult) -> BuildResult:
        if not self.options.wanted:
            return result
        from dockyard.attest import maker  # the catalogers and SBOM writers load only when something is attested

        epoch = self.source_date_epoch
        if epoch is None:
            inv = replace(self.invocation, started=self.started, finished=_now(),
                          invocation_id=self.invocation.invocation_id or os.urandom(13).hex())
            created = inv.finished
        else:
            inv = replace(self.invocation, started="", finished="", invocation_id="")
            created = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        bases: dict[Platform, list[ResolvedBase]] = {
            p: _bases_of(result.graphs.get(p), result.bases) for p in result.images}
        statements = maker.statements(result.content, images=result.images, options=self.options,
                                      invocation=inv, bases=bases, roots=result.graphs, name=self.name,
                                      created=created, stages=result.stages,
                                      context=self._context(result.sbom_context))
        kept = {}  # the assembled index's annotations (--annotation index:...) stay on the new index
        if mediatypes.is_index(result.descriptor.media_type):
            kept = dict(Index.from_bytes(read_document(result.content, result.descriptor),
                                         media_type=result.descriptor.media_type).annotations)
        manifests = {p: image.descriptor for p, image in result.images.items()}
        attached = attach(result.content, manifests=manifests, statements=statements,
                          storage=self.options.storage, oci=self.oci, annotations=kept)
        return replace(result, descriptor=attached.top, referrers=(*result.referrers, *attached.referrers))

    def _context(self, platforms: frozenset[Platform]) -> Mapping[Platform, Tree]:
        if not platforms or self.context is None:
            return {}
        from dockyard.selector import PatternMatcher, SourceTree

        tree = SourceTree(self.context, ignore=PatternMatcher(list(self.ignore)))
        return dict.fromkeys(platforms, tree)


def for_build(options: AttestOptions, *, context: Path, dockerfile: Path, build_args: Mapping[str, str],
              labels: Mapping[str, str], target: str | None, secret_ids: tuple[str, ...], ssh_ids: tuple[str, ...],
              name: Reference | None, source_date_epoch: int | None, oci: bool = True) -> BuildAttestor:
    """The attestor for a ``dockyard build`` request (the Dockerfile is read now, as the build reads it)."""
    try:
        path = str(dockerfile.resolve().relative_to(context.resolve()))
    except ValueError:
        path = dockerfile.name
    try:
        text = dockerfile.read_bytes()
    except OSError:
        text = b""  # the plan reports the unreadable Dockerfile with its own message
    args = {f"build-arg:{k}": v for k, v in build_args.items()}
    args.update({f"label:{k}": v for k, v in labels.items()})
    if target:
        args["target"] = target
    invocation = Invocation(dockerfile_path=path, dockerfile=text, args=args, secret_ids=secret_ids,
                            ssh_ids=ssh_ids, vcs=git_vcs(context) if options.provenance else Vcs(),
                            reproducible=source_date_epoch is not None)
    ignore: tuple[str, ...] = ()
    if options.sbom:
        from dockyard.dockerfile import dockerignore

        ignore = tuple(dockerignore.load_for(context, dockerfile))
    return BuildAttestor(options=options, invocation=invocation, name=name, source_date_epoch=source_date_epoch,
                         oci=oci, context=context, ignore=ignore)

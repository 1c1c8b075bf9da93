"""Deliver phase: take a build result out of dockyard: push, export to files, write metadata.

A :class:`Delivery` says where the result goes (parsed outputs, ``-t`` names, the
``--metadata-file`` and ``--iidfile`` paths). :func:`prepare` runs when a build starts (it
removes the metadata and iid files of an earlier build, so a failed build never leaves stale
ones); :func:`deliver` runs after the gates passed: every push target first, all registries at
once (``exporters.multipush``: blobs and manifests everywhere, the index digest verified in
each, and only then any tag, so no registry's tag names an index whose parts are missing
anywhere; attestation referrers go with the manifests; with ``sign_key``, cosign signatures
of everything pushed are made by digest before any tag, :func:`dockyard.signing.image.sign_image`),
then the file outputs, then the metadata and iid files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.errors import filesystem_error
from dockyard.exporters import export, file_outputs, push_targets
from dockyard.exporters.destination import check_destination
from dockyard.exporters.metadata import describe, discard_stale, metadata, write_iidfile, write_metadata_file
from dockyard.exporters.multipush import push_everywhere
from dockyard.exporters.output import NO_OUTPUT_WARNING, DockerOutput, OciOutput, Output, PushTarget, TarOutput
from dockyard.phases.result import BuildResult
from dockyard.registry.client import Client

if TYPE_CHECKING:  # cryptography loads only for --sign
    from cryptography.hazmat.primitives.asymmetric import ec

Report = Callable[[str], None]
"""Receives one human-readable line per delivery (``pushed REPO@DIGEST (TAGS)``) and warnings."""


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """Where a result goes: parsed ``--output``s (push ones included), names, and the two files."""

    outputs: tuple[Output, ...] = ()
    tags: tuple[str, ...] = ()
    metadata_file: Path | None = None
    iidfile: Path | None = None
    sign_key: ec.EllipticCurvePrivateKey | None = None  # --sign: cosign signatures after each push
    sign_format: str = "classic"  # --sign format=: classic (.sig tag) or bundle (sigstore bundle referrer)
    push_retry: int = 0  # more attempts per registry before the push fails (no tag moves meanwhile)


@dataclass(frozen=True)
class Delivered:
    """What delivery did: the references pushed (``registry/repo@digest``) and buildx's metadata keys."""

    pushed: tuple[str, ...]
    metadata: dict[str, Any]


@contextlib.contextmanager
def _writing(what: str, where: object) -> Iterator[None]:
    """An OSError while writing ``what`` (to ``where``) as a one-line error naming the path."""
    try:
        yield
    except OSError as exc:
        raise filesystem_error(exc, doing=what, where=where if isinstance(where, str | Path) else None) from exc


def prepare(delivery: Delivery) -> None:
    """Call when a build starts: check where files will go, remove the metadata and iid files an
    earlier build left."""
    for spec in file_outputs(delivery.outputs):
        if isinstance(spec, OciOutput | DockerOutput | TarOutput) and spec.dest is not None \
                and not (isinstance(spec, OciOutput) and not spec.tar):
            check_destination(spec.dest, what=f"{type(spec).__name__.removesuffix('Output').lower()} output")
    for extra, what in ((delivery.metadata_file, "metadata file"), (delivery.iidfile, "iid file")):
        if extra is not None:
            check_destination(extra, what=what)
    with _writing("--metadata-file", delivery.metadata_file):
        discard_stale(delivery.metadata_file)
    with _writing("--iidfile", delivery.iidfile):
        discard_stale(delivery.iidfile)


def deliver(result: BuildResult, delivery: Delivery, *, client: Client, report: Report | None = None,
            metadata_extra: Mapping[str, Any] | None = None) -> Delivered:
    """Push and export ``result`` as ``delivery`` says; ``report`` gets a line per push and warnings.

    ``metadata_extra`` adds keys to the metadata file (e.g. ``dockyard.nodes``: where each platform built).
    """
    say = report or (lambda _line: None)
    pushed: list[str] = []
    targets = push_targets(delivery.outputs)
    def sign(target: PushTarget) -> None:
        """``--sign``: cosign signatures by digest, before the tags move (a tag never names an unsigned image)."""
        from dockyard.signing.image import sign_image

        assert delivery.sign_key is not None
        pinned = target.reference.with_digest(result.descriptor.digest)
        for digest in sign_image(client, pinned, delivery.sign_key, store=result.content,
                                 form=delivery.sign_format):
            say(f"signed {target.reference.repository}@{digest}")

    for done in push_everywhere(client, targets, result.descriptor, result.content, retries=delivery.push_retry,
                                notify=lambda message: say(f"WARNING: {message}"), referrers=result.referrers,
                                before_tags=sign if delivery.sign_key is not None else None):
        target = done.target
        pushed.append(f"{target.reference.name}@{result.descriptor.digest}")
        say(f"pushed {target.reference.repository}@{result.descriptor.digest} "
            f"({', '.join([target.reference.tag or '', *target.tags]).strip(', ')})")
    files = file_outputs(delivery.outputs)
    for spec in files:
        with _writing("export", spec.dest):
            export(spec, result.content, result.descriptor, names=delivery.tags)
    if not targets and not files:
        say(f"WARNING: {NO_OUTPUT_WARNING}")
    described = describe(result.content, result.descriptor, names=delivery.tags)
    if delivery.metadata_file is not None:
        with _writing("--metadata-file", delivery.metadata_file):
            write_metadata_file(delivery.metadata_file, described, extra=metadata_extra)
    if delivery.iidfile is not None:
        with _writing("--iidfile", delivery.iidfile):
            write_iidfile(delivery.iidfile, described)
    return Delivered(pushed=tuple(pushed), metadata={**metadata(described), **(metadata_extra or {})})

"""Attest phase: a hook that adds attestations (SBOM, provenance) to an assembled image.

An :class:`Attestor` receives the assembled :class:`~dockyard.phases.result.BuildResult`
(every blob in its content store) and returns a new one: typically an index that also
carries attestation manifests (BuildKit's ``vnd.docker.reference.type: attestation-manifest``
entries), written to the same store. Attestors run in the order given, each seeing the
previous one's result. None are built in yet; the build runs the ones its caller passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from dockyard.phases.result import BuildResult


@runtime_checkable
class Attestor(Protocol):
    """Makes attestations for a build result and returns the result that carries them."""

    def attest(self, result: BuildResult) -> BuildResult: ...


def attest(result: BuildResult, attestors: Sequence[Attestor]) -> BuildResult:
    """Run ``attestors`` in order over ``result`` (none: ``result`` unchanged)."""
    for attestor in attestors:
        result = attestor.attest(result)
    return result

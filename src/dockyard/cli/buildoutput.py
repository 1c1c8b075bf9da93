"""``--output`` for ``dockyard build``: parsing and exporting (the exporters land with issue 5's outputs)."""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.engine.build import BuildResult
from dockyard.errors import NotBuiltError


def check_outputs(specs: Sequence[str]) -> None:
    raise NotBuiltError("--output is not built yet", hint="use --push -t REGISTRY/REPO:TAG meanwhile")


def export_outputs(specs: Sequence[str], result: BuildResult, *, names: Sequence[str]) -> None:
    check_outputs(specs)

"""The options ``dockyard meta`` and ``dockyard build --tags-from-git`` share, in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


def release_options(func: F) -> F:
    """Add --tag-spec, --flavor and --no-default-labels to a click command."""
    func = click.option("--no-default-labels", is_flag=True,
                        help="Do not add the org.opencontainers.image.* labels and annotations")(func)
    func = click.option("--flavor", multiple=True,
                        help="metadata-action flavor line: latest=auto|true|false, prefix=, suffix=, onlatest=")(func)
    func = click.option("--tag-spec", multiple=True,
                        help="metadata-action tag line, e.g. type=semver,pattern={{version}} (repeatable)")(func)
    return func

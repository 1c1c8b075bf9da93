"""The options ``dockyard meta`` and ``dockyard build --tags-from-git`` share, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import click

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    """Tag specs, flavor lines and whether the standard OCI labels are added."""

    specs: tuple[str, ...] = ()
    flavor: tuple[str, ...] = ()
    default_labels: bool = True

    @classmethod
    def from_flags(cls, *, tag_spec: tuple[str, ...], flavor: tuple[str, ...],
                   no_default_labels: bool) -> ReleaseOptions:
        """The group's values as click parsed them (:func:`release_options`' parameter names)."""
        return cls(specs=tag_spec, flavor=flavor, default_labels=not no_default_labels)


def release_options(func: F) -> F:
    """Add --tag-spec, --flavor and --no-default-labels to a click command."""
    func = click.option("--no-default-labels", is_flag=True,
                        help="Do not add the org.opencontainers.image.* labels and annotations")(func)
    func = click.option("--flavor", multiple=True,
                        help="metadata-action flavor line: latest=auto|true|false, prefix=, suffix=, onlatest=")(func)
    func = click.option("--tag-spec", multiple=True,
                        help="metadata-action tag line, e.g. type=semver,pattern={{version}} (repeatable)")(func)
    return func

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
    def pop_from(cls, options: dict[str, object]) -> ReleaseOptions:
        """Take this group's values out of a verb's ``**options`` (so none is left unread)."""
        specs, flavor = options.pop("tag_spec", ()), options.pop("flavor", ())
        no_default = options.pop("no_default_labels", False)
        return cls(specs=tuple(str(s) for s in specs) if isinstance(specs, tuple) else (),
                   flavor=tuple(str(f) for f in flavor) if isinstance(flavor, tuple) else (),
                   default_labels=not no_default)


def release_options(func: F) -> F:
    """Add --tag-spec, --flavor and --no-default-labels to a click command."""
    func = click.option("--no-default-labels", is_flag=True,
                        help="Do not add the org.opencontainers.image.* labels and annotations")(func)
    func = click.option("--flavor", multiple=True,
                        help="metadata-action flavor line: latest=auto|true|false, prefix=, suffix=, onlatest=")(func)
    func = click.option("--tag-spec", multiple=True,
                        help="metadata-action tag line, e.g. type=semver,pattern={{version}} (repeatable)")(func)
    return func

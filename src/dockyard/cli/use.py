"""``dockyard use``: choose the builder commands use when neither --builder nor the environment names one."""

from __future__ import annotations

import click

from dockyard.builders.instances import use_builder


@click.command("use")
@click.argument("name")
@click.option("--default", "as_default", is_flag=True,
              help="Set as the default builder (dockyard has no contexts: same as without it)")
@click.option("--global", "as_global", is_flag=True, help="Accepted for buildx compatibility (same as without it)")
def use(name: str, as_default: bool, as_global: bool) -> None:
    """Set the current builder instance."""
    use_builder(name)

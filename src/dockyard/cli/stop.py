"""``dockyard stop``: mark a builder's nodes stopped; the next build bootstraps them again."""

from __future__ import annotations

import click

from dockyard.builders.instances import builder_name, stop_builder
from dockyard.cli.main import GlobalOptions


@click.command("stop")
@click.argument("name", required=False)
@click.pass_obj
def stop(obj: GlobalOptions, name: str | None) -> None:
    """Stop a builder instance."""
    stop_builder(name or builder_name(obj.builder))

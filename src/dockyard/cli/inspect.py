"""``dockyard inspect``: a builder's nodes, platforms, versions and GC policy; --bootstrap prepares it."""

from __future__ import annotations

import click

from dockyard.builders.describe import inspect_text
from dockyard.builders.instances import inspect_builder
from dockyard.cli.main import GlobalOptions


@click.command("inspect")
@click.argument("name", required=False)
@click.option("--bootstrap", is_flag=True, help="Ensure the builder has booted before inspecting")
@click.pass_obj
def inspect(obj: GlobalOptions, name: str | None, bootstrap: bool) -> None:
    """Inspect the current builder instance (--bootstrap to prepare it)."""
    click.echo(inspect_text(inspect_builder(name or obj.builder, bootstrap=bootstrap)))

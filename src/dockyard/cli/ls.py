"""``dockyard ls``: every builder and its nodes, the current one starred."""

from __future__ import annotations

import json

import click

from dockyard.builders.describe import ls_json, ls_table
from dockyard.builders.instances import summaries
from dockyard.cli.main import GlobalOptions


@click.command("ls")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format (json: one object per builder per line)")
@click.pass_obj
def ls(obj: GlobalOptions, fmt: str) -> None:
    """List builder instances."""
    builders = summaries(override=obj.builder)
    if fmt == "json":
        for b in builders:
            click.echo(json.dumps(ls_json(b)))
    else:
        click.echo(ls_table(builders))

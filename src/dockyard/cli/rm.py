"""``dockyard rm``: remove builders (and their nodes' stores unless --keep-state)."""

from __future__ import annotations

import click

from dockyard.builders.instances import builder_name, inactive_builders, remove_builders
from dockyard.cli.main import GlobalOptions
from dockyard.errors import UsageError


@click.command("rm")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--all-inactive", is_flag=True, help="Remove all builders whose nodes are not running")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--keep-state", is_flag=True, help="Keep the nodes' stores (build cache)")
@click.pass_obj
def rm(obj: GlobalOptions, names: tuple[str, ...], all_inactive: bool, force: bool, keep_state: bool) -> None:
    """Remove one or more builder instances."""
    if all_inactive:
        if names:
            raise UsageError("--all-inactive takes no builder names")
        targets = inactive_builders()
        prompt = f"This removes {len(targets)} inactive builder(s): {', '.join(targets)}. Continue?"
        if targets and not force and not click.confirm(prompt, default=False):
            click.echo("nothing removed")
            return
    else:
        targets = list(names) or [builder_name(obj.builder)]
    remove_builders(targets, keep_state=keep_state)
    for name in targets:
        click.echo(f"{name} removed")

"""``dockyard rm``: remove builders (and their nodes' stores unless --keep-state)."""

from __future__ import annotations

import click

from dockyard.builders.instances import removal_targets, remove_builders
from dockyard.cli.main import GlobalOptions


@click.command("rm")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--all-inactive", is_flag=True, help="Remove all builders whose nodes are not running")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.option("--keep-state", is_flag=True, help="Keep the nodes' stores (build cache)")
@click.pass_obj
def rm(obj: GlobalOptions, names: tuple[str, ...], all_inactive: bool, force: bool, keep_state: bool) -> None:
    """Remove one or more builder instances."""
    targets = removal_targets(names, all_inactive=all_inactive, override=obj.builder)
    prompt = f"This removes {len(targets)} inactive builder(s): {', '.join(targets)}. Continue?"
    if all_inactive and targets and not force and not click.confirm(prompt, default=False):
        click.echo("nothing removed")
        return
    remove_builders(targets, keep_state=keep_state)
    for name in targets:
        click.echo(f"{name} removed")

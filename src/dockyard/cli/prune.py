"""``dockyard prune``: remove build cache of the builder in use, least recently used first."""

from __future__ import annotations

import sys

import click

from dockyard.engine.leftovers import reclaim_leftovers
from dockyard.errors import UsageError
from dockyard.store.gc import Store, human, parse_duration, parse_size


@click.command("prune")
@click.option("-a", "--all", "everything", is_flag=True, help="Include base image layers and cache mounts")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (until=24h)")
@click.option("--keep-storage", help="Amount of disk space to keep for cache (e.g. 10GB)")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_context
def prune(ctx: click.Context, everything: bool, filters: tuple[str, ...], keep_storage: str | None,
          force: bool) -> None:
    """Remove build cache."""
    older = None
    for item in filters:
        key, _, value = item.partition("=")
        if key != "until" or not value:
            raise UsageError(f"invalid --filter {item!r}", hint="supported: until=DURATION, e.g. until=24h")
        older = parse_duration(value)
    keep = parse_size(keep_storage) if keep_storage else None
    if not force:
        what = "all build cache" if everything else "build cache"
        click.echo(f"WARNING! This will remove {what}. Are you sure you want to continue? [y/N] ", nl=False,
                   err=True)
        answer = sys.stdin.readline().strip().lower() if not sys.stdin.closed else ""
        if answer not in ("y", "yes"):
            click.echo("nothing removed", err=True)
            return
    from dockyard.builders import current_builder

    store = Store(current_builder(ctx.obj.builder if ctx.obj else None).store_root())
    left = reclaim_leftovers(store.root)
    removed, freed = store.prune(keep_storage=keep, older_than=older, everything=everything)
    click.echo(f"Removed {removed} cache records")
    if left.entries:
        click.echo(f"Removed {left.entries} leftovers of killed builds ({left.containers} containers)")
    click.echo(f"Total:\t{human(freed + left.size)}")


"""``dockyard prune``: remove build cache of the builder in use, least recently used first."""

from __future__ import annotations

import sys

import click

from dockyard.builders.cache import PruneRequest, parse_filters, prune_cache
from dockyard.cli.main import GlobalOptions
from dockyard.store.gc import human, parse_size


@click.command("prune")
@click.option("-a", "--all", "everything", is_flag=True, help="Include base image layers and cache mounts")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (until=24h)")
@click.option("--keep-storage", help="Amount of disk space to keep for cache (e.g. 10GB)")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation")
@click.pass_obj
def prune(obj: GlobalOptions | None, everything: bool, filters: tuple[str, ...], keep_storage: str | None,
          force: bool) -> None:
    """Remove build cache."""
    request = PruneRequest(builder=obj.builder if obj else None, all=everything, until=parse_filters(filters),
                           keep_storage=parse_size(keep_storage) if keep_storage else None)
    if not force:
        what = "all build cache" if everything else "build cache"
        click.echo(f"WARNING! This will remove {what}. Are you sure you want to continue? [y/N] ", nl=False,
                   err=True)
        answer = sys.stdin.readline().strip().lower() if not sys.stdin.closed else ""
        if answer not in ("y", "yes"):
            click.echo("nothing removed", err=True)
            return
    pruned = prune_cache(request)
    click.echo(f"Removed {pruned.records} cache records")
    if pruned.leftovers:
        click.echo(f"Removed {pruned.leftovers} leftovers of killed builds ({pruned.containers} containers)")
    click.echo(f"Total:\t{human(pruned.freed)}")

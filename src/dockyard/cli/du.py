"""``dockyard du``: disk usage of the build cache of the builder in use, like ``docker buildx du``."""

from __future__ import annotations

import datetime as dt

import click

from dockyard.engine.leftovers import reclaim_leftovers
from dockyard.store.gc import Store, human
from dockyard.store.reclaim import in_use


@click.command("du")
@click.option("--verbose", is_flag=True, help="Show every record with its details")
@click.pass_context
def du(ctx: click.Context, verbose: bool) -> None:
    """Show disk usage of the build cache."""
    from dockyard.builders import current_builder

    store = Store(current_builder(ctx.obj.builder if ctx.obj else None).store_root())
    reclaim_leftovers(store.root)
    usages = store.usage()
    if verbose:
        for use in reversed(usages):
            last = dt.datetime.fromtimestamp(use.record.last_used, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            click.echo(f"ID:\t\t{use.record.key.removeprefix('sha256:')[:25]}\nType:\t\t{use.kind}\n"
                       f"Size:\t\t{human(use.size)}\nLayers:\t\t{len(use.record.layers)}\nLast used:\t{last}\n")
    else:
        click.echo(f"{'ID':<27}{'RECLAIMABLE':<13}{'SIZE':<10}LAST ACCESSED")
        now = dt.datetime.now(dt.UTC).timestamp()
        for use in reversed(usages):
            ago = _ago(now - use.record.last_used)
            click.echo(f"{use.record.key.removeprefix('sha256:')[:25]:<27}{'true':<13}{human(use.size):<10}{ago}")
    reclaimable = sum(u.size for u in usages)
    click.echo(f"Reclaimable:\t{human(reclaimable)}")
    held = in_use(store.root)
    if held:  # temporaries of running builds, or of an older dockyard that did not stamp its pid
        click.echo(f"In use:\t\t{human(held)}")
    click.echo(f"Total:\t\t{human(store.total())}")


def _ago(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "Less than a minute ago"


"""``dockyard du``: disk usage of the build cache of the builder in use, like ``docker buildx du``."""

from __future__ import annotations

import datetime as dt

import click

from dockyard.builders.cache import disk_usage
from dockyard.cli.main import GlobalOptions
from dockyard.store.gc import human


@click.command("du")
@click.option("--verbose", is_flag=True, help="Show every record with its details")
@click.pass_obj
def du(obj: GlobalOptions | None, verbose: bool) -> None:
    """Show disk usage of the build cache."""
    usage = disk_usage(obj.builder if obj else None)
    if verbose:
        for use in reversed(usage.records):
            last = use.last_used.strftime("%Y-%m-%d %H:%M:%S UTC")
            click.echo(f"ID:\t\t{use.id.removeprefix('sha256:')[:25]}\nType:\t\t{use.kind}\n"
                       f"Size:\t\t{human(use.size)}\nLayers:\t\t{use.layers}\nLast used:\t{last}\n")
    else:
        click.echo(f"{'ID':<27}{'RECLAIMABLE':<13}{'SIZE':<10}LAST ACCESSED")
        now = dt.datetime.now(dt.UTC)
        for use in reversed(usage.records):
            ago = _ago((now - use.last_used).total_seconds())
            click.echo(f"{use.id.removeprefix('sha256:')[:25]:<27}{'true':<13}{human(use.size):<10}{ago}")
    click.echo(f"Reclaimable:\t{human(usage.reclaimable)}")
    if usage.in_use:  # temporaries of running builds, or of an older dockyard that did not stamp its pid
        click.echo(f"In use:\t\t{human(usage.in_use)}")
    click.echo(f"Total:\t\t{human(usage.total)}")


def _ago(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "Less than a minute ago"

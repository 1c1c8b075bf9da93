"""``dockyard create``: make a builder, or add (--append) or take out (--leave) one of its nodes.

ENDPOINT is ``local`` (the default) or ``ssh://user@host[:port]`` for a remote node.
"""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.builders.instances import CreateOptions, create_builder
from dockyard.builders.node import Placement
from dockyard.platform import parse_platforms


@click.command("create")
@click.argument("endpoint", required=False, metavar="[ENDPOINT]")
@click.option("--name", help="Builder instance name (generated when omitted)")
@click.option("--driver", default="local", show_default=True,
              help="Driver to use (local, kubernetes; an ssh:// endpoint makes a remote node)")
@click.option("--node", help="Create/modify the node with this name")
@click.option("--platform", "platforms", multiple=True, metavar="P[,P...]",
              help="Fixed platforms for the node (repeatable or comma-separated)")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              help="BuildKit-style config file (buildkitd.toml shape)")
@click.option("--use", is_flag=True, help="Set the builder as the current instance")
@click.option("--append", is_flag=True, help="Append a node to the builder instead of creating it")
@click.option("--leave", is_flag=True, help="Remove a node from the builder instead of changing it")
@click.option("--bootstrap", is_flag=True, help="Bootstrap the builder after creating it")
@click.option("--placement", type=click.Choice(["native-only", "prefer-native", "any"]),
              help="Which nodes may build a platform (default prefer-native; builds may override)")
@click.option("--driver-opt", "driver_opts", multiple=True, metavar="KEY=VALUE[,...]",
              help="Options of the kubernetes driver (namespace, replicas, image, nodeselector, ...)")
def create(*, endpoint: str | None, name: str | None, driver: str, node: str | None, platforms: tuple[str, ...],
            config: Path | None, use: bool, append: bool, leave: bool, bootstrap: bool,
            placement: str | None, driver_opts: tuple[str, ...]) -> None:
    """Create a new builder instance."""
    plats = tuple(parse_platforms(",".join(platforms))) if platforms else ()
    builder = create_builder(CreateOptions(name=name, driver=driver, node=node, platforms=plats, config=config,
                                           use=use, append=append, leave=leave, bootstrap=bootstrap,
                                           endpoint=endpoint,
                                           placement=Placement.parse(placement) if placement else None,
                                           driver_opts=driver_opts))
    click.echo(builder.name)

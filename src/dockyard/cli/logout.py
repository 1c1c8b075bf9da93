"""``dockyard logout [SERVER]``: forget the stored credentials for a registry."""

from __future__ import annotations

import click


@click.command("logout")
@click.argument("server", default="docker.io")
def logout(server: str) -> None:
    """Log out from a registry (Docker Hub when SERVER is omitted)."""
    from dockyard.api.login import logout as logout_api

    if logout_api(server):
        click.echo(f"Removing login credentials for {server}")
    else:
        click.echo(f"Not logged in to {server}")

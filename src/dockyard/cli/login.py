"""``dockyard login [-u USER] [--password-stdin] [SERVER]``: verify and store registry credentials."""

from __future__ import annotations

import sys

import click

from dockyard.errors import UsageError


@click.command("login")
@click.argument("server", default="docker.io")
@click.option("-u", "--username", help="Username")
@click.option("-p", "--password", help="Password (prefer --password-stdin: arguments are visible to others)")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@click.option("--insecure-registry", "insecure", is_flag=True,
              help="Allow plain HTTP and unverified TLS for SERVER")
def login(*, server: str, username: str | None, password: str | None, password_stdin: bool,
          insecure: bool) -> None:
    """Log in to a registry (Docker Hub when SERVER is omitted)."""
    from dockyard.api.login import login as login_api
    from dockyard.cli.registryhosts import registry_ca

    if password and password_stdin:
        raise UsageError("--password and --password-stdin are exclusive")
    if password_stdin:
        if not username:
            raise UsageError("--password-stdin needs --username")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        username = click.prompt("Username")
    if not password:
        password = click.prompt("Password", hide_input=True)
    if not password:
        raise UsageError("empty password")
    where = login_api(server, username=str(username), password=str(password), insecure=insecure,
                      registry_ca=registry_ca())
    click.echo(f"Login Succeeded (credentials stored in {where})")

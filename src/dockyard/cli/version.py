"""``dockyard version``: what this dockyard is and which runtime and emulator it would use."""

from __future__ import annotations

import click

from dockyard import __version__
from dockyard.hosttools import tool_version
from dockyard.rootless import mode


@click.command("version")
def version() -> None:
    """Show the versions of dockyard, runc and qemu, and whether builds run as root or rootless."""
    click.echo(f"dockyard {__version__}")
    for name, probe in (("runc", ["runc", "--version"]), ("qemu", ["qemu-aarch64-static", "--version"])):
        found = tool_version(probe)
        click.echo(f"{name:<8} {found}" if found else f"{name:<8} missing (install the Debian package "
                   f"{'runc' if name == 'runc' else 'qemu-user-static'})")
    click.echo(f"{'mode':<8} {mode.describe()}")

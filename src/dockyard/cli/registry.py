"""``dockyard registry serve|stop``: the embedded local registry on 127.0.0.1."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType

import click

from dockyard import localregistry
from dockyard.errors import UsageError
from dockyard.paths import data_root


def _pidfile() -> Path:
    return data_root() / "registry" / "registry.json"


@click.group("registry")
def registry() -> None:
    """Run the embedded local registry (CNCF Distribution) on 127.0.0.1."""


@registry.command("serve")
@click.option("--port", type=int, default=5000, show_default=True, help="Port on 127.0.0.1")
@click.option("--storage", type=click.Path(path_type=Path),
              help="Storage directory [default: DATA_ROOT/registry/storage]")
@click.option("--htpasswd", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Require Basic auth from this bcrypt htpasswd file")
@click.option("--detach", "-d", is_flag=True, help="Run in the background; stop with 'dockyard registry stop'")
def serve(port: int, storage: Path | None, htpasswd: Path | None, detach: bool) -> None:
    """Start the registry and print its address."""
    pidfile = _pidfile()
    running = localregistry.read_pidfile(pidfile)
    if running is not None:
        raise UsageError(
            f"a local registry already runs at {running.address} (pid {running.pid})",
            hint="stop it first: dockyard registry stop",
        )
    root = data_root() / "registry"
    config = localregistry.RegistryConfig(
        port=port,
        storage=(storage or root / "storage").resolve(),
        rundir=root,
        htpasswd=htpasswd.resolve() if htpasswd else None,
    )
    reg = localregistry.start(config)
    localregistry.write_pidfile(pidfile, reg)
    click.echo(reg.address)
    if detach:
        click.echo(f"registry running in the background (pid {reg.pid}); stop it with: dockyard registry stop",
                   err=True)
        return

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while localregistry.read_pidfile(pidfile) is not None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        localregistry.stop_pid(reg.pid)
        pidfile.unlink(missing_ok=True)


@registry.command("stop")
def stop() -> None:
    """Stop the registry started with --detach."""
    pidfile = _pidfile()
    running = localregistry.read_pidfile(pidfile)
    if running is None:
        click.echo("no local registry is running")
        return
    localregistry.stop_pid(running.pid)
    pidfile.unlink(missing_ok=True)
    click.echo(f"stopped the registry at {running.address}")

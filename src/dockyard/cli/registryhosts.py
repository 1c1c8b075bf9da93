"""The registry settings every verb uses: registries.toml and certs.d, plus ``--registry-ca``.

``dockyard --registry-ca HOST=FILE VERB`` trusts FILE's CA certificates for HOST (as
``ca = [FILE]`` under ``[registry."HOST"]`` in registries.toml would), for this command only.
"""

from __future__ import annotations

from pathlib import Path

import click

from dockyard.errors import UsageError
from dockyard.registry.hosts import HostsConfig


def registry_cas(values: tuple[str, ...]) -> dict[str, tuple[Path, ...]]:
    """``HOST=FILE`` values by host; a missing file or a value without ``=`` is a UsageError."""
    out: dict[str, tuple[Path, ...]] = {}
    for value in values:
        host, eq, file = value.partition("=")
        if not host or not eq or not file:
            raise UsageError(f"invalid --registry-ca {value!r}", hint="use HOST[:PORT]=CA-FILE")
        path = Path(file)
        if not path.is_file():
            raise UsageError(f"--registry-ca {value!r}: {file} is not a file", hint="give the CA certificate (PEM)")
        out[host] = (*out.get(host, ()), path)
    return out


def registry_ca() -> dict[str, tuple[Path, ...]]:
    """This command's ``--registry-ca`` values (a global option), by host."""
    context = click.get_current_context(silent=True)
    root = context.find_root() if context is not None else None
    values = getattr(root.obj, "registry_ca", ()) if root is not None else ()
    return registry_cas(tuple(values))


def hosts(*, insecure: frozenset[str] = frozenset()) -> HostsConfig:
    """registries.toml (and certs.d) with this command's ``--registry-ca`` values added."""
    return HostsConfig.load(insecure=insecure).with_ca(registry_ca())

"""Where dockyard keeps its data and configuration on this machine.

One function per root so that tests (DOCKYARD_ROOT, XDG_CONFIG_HOME) and users get the
same answer everywhere: /var/lib/dockyard as root, $XDG_DATA_HOME/dockyard otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    """The store root: DOCKYARD_ROOT, else /var/lib/dockyard for root, else XDG data.

    Always absolute: a relative DOCKYARD_ROOT names a directory under the working directory
    dockyard was started in, while the OCI runtime (started in a bundle directory) and
    overlay mounts made with a working directory would resolve it elsewhere.
    """
    env = os.environ.get("DOCKYARD_ROOT")
    if env:
        return Path(os.path.abspath(env))
    if os.geteuid() == 0:
        return Path("/var/lib/dockyard")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.path.abspath(xdg)) / "dockyard"


def config_root() -> Path:
    """Builder records and registries.toml: $XDG_CONFIG_HOME/dockyard."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "dockyard"

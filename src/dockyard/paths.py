"""Where dockyard keeps its data and configuration on this machine.

One function per root so that tests (DOCKYARD_ROOT, XDG_CONFIG_HOME) and users get the
same answer everywhere: /var/lib/dockyard as root, $XDG_DATA_HOME/dockyard otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_root(*, make: bool = True) -> Path:
    """The store root: DOCKYARD_ROOT, else /var/lib/dockyard for root, else XDG data.

    Always absolute: a relative DOCKYARD_ROOT names a directory under the working directory
    dockyard was started in, while the OCI runtime (started in a bundle directory) and
    overlay mounts made with a working directory would resolve it elsewhere. Always
    private too (:func:`private_dir`). ``make=False`` only names it (a dry run reads, never creates).
    """
    env = os.environ.get("DOCKYARD_ROOT")
    if env:
        root = Path(os.path.abspath(env))
    elif os.geteuid() == 0:
        root = Path("/var/lib/dockyard")
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        root = Path(os.path.abspath(xdg)) / "dockyard"
    return private_dir(root) if make else root


def private_dir(path: Path) -> Path:
    """``path``, made if missing, readable by its owner only (0700, as Docker keeps /var/lib/docker).

    The store holds snapshot trees of every image built (files of the context, whatever RUN steps
    wrote), a stat cache naming host paths with their digests, and cache records: nothing another
    user of the machine should read. A directory we own that is open to others is closed.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            path.chmod(info.st_mode & 0o700)
    except OSError:
        pass  # whoever writes into it first reports the problem, with the path
    return path


def config_root() -> Path:
    """Builder records and registries.toml: $XDG_CONFIG_HOME/dockyard."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "dockyard"

"""What changes for a step when dockyard runs rootless (uid 0 of a user namespace).

runc is told so (``--rootless true``: it then skips cgroups it may not write and binds
the default devices instead of creating them) and keeps its state under the store
(``--root``), since /run/runc belongs to the host's root. The step runs in the build
process's user namespace, so image uids 0..N already map to the user and its subordinate
range and nothing in the spec needs a uid mapping of its own.

Networking is the other difference (:mod:`dockyard.rootless.network`): a step with the
default network joins the build's slirp4netns namespace, with a resolv.conf naming its
DNS forwarder. Without slirp4netns the default becomes ``none``, as the issue that asked
for rootless builds specified; an explicit ``--network=host`` is then an error, never
silently downgraded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dockyard.errors import HostError
from dockyard.executor.base import Network, RunRequest
from dockyard.rootless.network import BuildNetwork


class RootlessSandbox:
    """Adapts runc's command line and each step's request and spec for rootless mode."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.network = BuildNetwork(state_dir / "net")

    def runtime_args(self) -> list[str]:
        """runc's global options: rootless, with its state beside the store's other run files."""
        return ["--root", str(self.state_dir / "runc"), "--rootless", "true"]

    def request(self, request: RunRequest) -> RunRequest:
        """``request`` with the network it can have here (the default without slirp4netns: none)."""
        if request.network is Network.NONE or self.network.available():
            return request
        if request.network is Network.HOST:
            raise HostError("RUN --network=host needs slirp4netns in rootless mode (and /dev/net/tun usable)",
                            hint="install it: apt-get install slirp4netns; or use RUN --network=none")
        return dataclasses.replace(request, network=Network.NONE)

    def spec(self, config: dict[str, Any], request: RunRequest) -> dict[str, Any]:
        """The step's config.json joined to the build's network namespace when it has network."""
        if request.network is Network.NONE:
            return config
        netns, resolv = self.network.namespace()
        config["linux"]["namespaces"].append({"type": "network", "path": netns})
        for mount in config["mounts"]:
            if mount["destination"] == "/etc/resolv.conf" and mount["type"] == "bind":
                mount["source"] = str(resolv)
        return config

    def close(self) -> None:
        self.network.close()

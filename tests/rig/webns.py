"""An HTTP server in a network namespace of its own, reached from the host over a veth pair.

Rootless RUN steps reach the network through slirp4netns, which connects from the host's
network namespace; with host loopback disabled, a server on 127.0.0.1 is out of their
reach on purpose. This gives them something real to reach that is still local: a
namespace named ``dyweb-PID-N`` with ``10.A.B.2`` (host side ``10.A.B.1``), serving a
directory with Python's http.server. Tests send no traffic anywhere else.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_count = itertools.count()


@dataclass
class WebNamespace:
    """``url`` serves the files of ``root``; :meth:`stop` removes the namespace and its link."""

    netns: str
    link: str
    address: str
    port: int
    root: Path
    server: subprocess.Popen[bytes] | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/"

    def stop(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait()
        subprocess.run(["ip", "link", "del", self.link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, check=False)


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, text=True)


def _prefix() -> str:
    used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True, check=True).stdout
    for _ in range(50):
        prefix = f"10.{random.randint(200, 249)}.{random.randint(0, 255)}"
        if f" {prefix}." not in used:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet for the web namespace")


def start(root: Path) -> WebNamespace:
    """Serve ``root`` from a fresh namespace; ready when this returns."""
    n = next(_count)
    prefix = _prefix()
    web = WebNamespace(netns=f"dyweb-{os.getpid()}-{n}", link=f"dyw{os.getpid() % 100000}h{n}",
                       address=f"{prefix}.2", port=8080, root=root)
    inner = f"dyw{os.getpid() % 100000}n{n}"
    try:
        _ip("netns", "add", web.netns)
        _ip("link", "add", web.link, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", web.netns)
        _ip("addr", "add", f"{prefix}.1/30", "dev", web.link)
        _ip("link", "set", web.link, "up")
        for argv in (["addr", "add", f"{web.address}/30", "dev", inner], ["link", "set", inner, "up"],
                     ["link", "set", "lo", "up"]):
            _ip("-n", web.netns, *argv)
        web.server = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{web.netns}", sys.executable, "-m", "http.server", str(web.port),
             "--bind", web.address, "--directory", str(root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection((web.address, web.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    except BaseException:
        web.stop()
        raise
    return web

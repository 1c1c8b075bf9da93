"""Nodes: the machines a builder runs work on, and how a build's platforms are spread over them.

A builder has one or more nodes. Each node declares which platforms it serves and how:
natively (the CPU runs the code) or emulated (qemu-user through binfmt_misc), and whether
that was verified by actually running a binary. The build asks :func:`assign_platforms`
which node builds each requested platform: a node serving it natively wins, else one that
emulates it; a platform nobody serves is a one-line error that says how to enable it.

Only the local node exists today (:mod:`dockyard.builders.local`); an SSH node
(docs/remote-nodes.md) implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from dockyard.errors import UsageError
from dockyard.platform import Platform
from dockyard.rootless.mode import is_rootless

R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True, order=True)
class PlatformSupport:
    """How a node serves one platform.

    ``verified`` is True when a binary for the platform actually ran on the node (or, for
    amd64 micro-architecture levels, the CPU reports the required features); ``detail``
    says how (``qemu-aarch64``, ``busybox uname -m -> aarch64``, ``no test binary``).
    """

    platform: Platform
    emulated: bool = False
    verified: bool = False
    detail: str = ""


class Node(Protocol):
    """What the scheduler needs from a node: its platforms, its store, and its state."""

    @property
    def name(self) -> str: ...

    @property
    def endpoint(self) -> str:
        """``local``, later ``ssh://user@host``."""
        ...

    def platforms(self) -> Sequence[PlatformSupport]:
        """Platforms served, native ones first; configured (``--platform``) ones only when given."""
        ...

    def store_root(self) -> Path:
        """Where this node keeps content, snapshots and cache (``du``/``prune`` act here)."""
        ...

    def status(self) -> str:
        """``running`` (bootstrapped and still valid), ``inactive`` or ``stopped``."""
        ...


class SubgraphRunner(Protocol[R_co]):
    """The optional extra a node implements to build one platform's part of a build.

    ``subgraph`` is whatever the solver hands over for one platform (opaque here: the
    local node runs it in-process, an SSH node serialises it); the result is what the
    solver gets back (e.g. the platform's image manifest descriptor).
    """

    def run_subgraph(self, subgraph: object, *, platform: Platform, jobs: int) -> R_co: ...


N = TypeVar("N", bound=Node)


def assign_platforms(nodes: Sequence[N], requested: Sequence[Platform], *, builder: str) -> dict[Platform, N]:
    """Choose a node for each requested platform: native first, then emulated, in node order.

    Raises a UsageError naming the first platform no node serves, with the way to enable it.
    """
    offers = [(node, list(node.platforms())) for node in nodes]
    out: dict[Platform, N] = {}
    for want in requested:
        chosen: N | None = None
        for emulated in (False, True):
            for node, supports in offers:
                if any(s.emulated == emulated and s.platform == want for s in supports):
                    chosen = node
                    break
            if chosen is not None:
                break
        if chosen is None:
            # registering emulators in binfmt_misc needs the host's root, whoever builds afterwards
            who = "as root, once per boot, " if is_rootless() else ""
            raise UsageError(
                f"builder {builder!r} cannot build {want}: no node serves it natively or through emulation",
                hint=f"{who}run 'dockyard inspect --bootstrap {builder}' to register emulators, or create a builder "
                f"with '--platform {want}'",
            )
        out[want] = chosen
    return out


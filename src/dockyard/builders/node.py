"""Nodes: the machines a builder runs work on, and how a build's platforms are spread over them.

A builder has one or more nodes. Each node declares which platforms it serves and how:
natively (the CPU runs the code) or emulated (qemu-user through binfmt_misc), and whether
that was verified by actually running a binary. The build asks :func:`assign_platforms`
which node builds each requested platform: a node serving it natively wins, else one that
emulates it; a platform nobody serves is a one-line error that says how to enable it.

The local node runs on this machine (:mod:`dockyard.builders.local`); an SSH node
(:mod:`dockyard.builders.ssh`, docs/remote-nodes.md) implements the same protocol.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from dockyard.errors import UsageError
from dockyard.platform import Platform
from dockyard.rootless.mode import is_rootless


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


N = TypeVar("N", bound=Node)


class Placement(enum.Enum):
    """Which nodes may build a platform (``--placement``): only natives, natives first, or any in node order."""

    NATIVE_ONLY = "native-only"
    PREFER_NATIVE = "prefer-native"
    ANY = "any"

    @classmethod
    def parse(cls, text: str) -> Placement:
        try:
            return cls(text)
        except ValueError:
            raise UsageError(f"invalid placement {text!r}",
                             hint="use native-only, prefer-native or any") from None


def candidates(nodes: Sequence[N], want: Platform, *, placement: Placement = Placement.PREFER_NATIVE,
               builder: str) -> list[tuple[N, bool]]:
    """The nodes that may build ``want``, in the order they are tried, each with ``emulated``.

    ``prefer-native``: natives in node order, then emulators; ``native-only``: natives only;
    ``any``: every node serving it, in node order. Raises a UsageError naming the platform when
    none qualifies (with the way to enable one).
    """
    offers: list[tuple[N, bool]] = []
    for node in nodes:
        found = [s for s in node.platforms() if s.platform == want]
        if found:
            offers.append((node, all(s.emulated for s in found)))
    if placement is Placement.NATIVE_ONLY:
        chosen: list[tuple[N, bool]] = [(n, e) for n, e in offers if not e]
        if not chosen:
            emulated = [n.name for n, _ in offers]
            also = f" (only emulated on {', '.join(emulated)})" if emulated else ""
            raise UsageError(f"builder {builder!r} has no node that builds {want} natively{also}",
                             hint=f"add one: dockyard create --append --name {builder} --node NAME "
                             f"ssh://user@host --platform {want}; or use --placement prefer-native")
        return chosen
    if placement is Placement.PREFER_NATIVE:
        offers = [o for o in offers if not o[1]] + [o for o in offers if o[1]]
    if not offers:
        # registering emulators in binfmt_misc needs the host's root, whoever builds afterwards
        who = "as root, once per boot, " if is_rootless() else ""
        raise UsageError(
            f"builder {builder!r} cannot build {want}: no node serves it natively or through emulation",
            hint=f"{who}run 'dockyard inspect --bootstrap {builder}' to register emulators, or create a builder "
            f"with '--platform {want}'",
        )
    return offers


def assign_platforms(nodes: Sequence[N], requested: Sequence[Platform], *, builder: str,
                     placement: Placement = Placement.PREFER_NATIVE) -> dict[Platform, N]:
    """The first candidate for each requested platform (see :func:`candidates`)."""
    return {want: candidates(nodes, want, placement=placement, builder=builder)[0][0] for want in requested}

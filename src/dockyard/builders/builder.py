"""A builder as the build sees it: its record, its parsed config, and its live nodes.

:class:`Builder` is the one object the build (and ``du``/``prune``) needs: which nodes it
has and where their stores are, which node builds each platform, how many steps may run
at once, and the registry settings from its config. It is immutable; operations that
change the record (bootstrap) return a new Builder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.builders.config import BuilderConfig
from dockyard.builders.local import LocalNode
from dockyard.builders.node import Placement, assign_platforms
from dockyard.builders.records import DEFAULT_NAME, BootRecord, BuilderRecord, NodeRecord, now
from dockyard.builders.store import BuilderStore
from dockyard.errors import UsageError
from dockyard.paths import data_root
from dockyard.platform import Platform
from dockyard.registry.hosts import HostConfig

if TYPE_CHECKING:  # remote nodes' modules load only when a builder has one (a local build never does)
    from typing import TypeAlias

    from dockyard.builders.kube import KubeNode
    from dockyard.builders.ssh import SshNode

    AnyNode: TypeAlias = LocalNode | SshNode | KubeNode

IN_USE = ".in-use.lock"


def node_store_root(builder: str, node: str) -> Path:
    """The default builder's node uses the machine's store; other nodes get their own below it."""
    if builder == DEFAULT_NAME and node == DEFAULT_NAME:
        return data_root()
    return builder_store_dir(builder) / node


def builder_store_dir(builder: str) -> Path:
    """The directory holding the stores of a (non-default) builder's nodes."""
    return data_root() / "builders" / builder


@dataclass(frozen=True)
class Builder:
    """A builder instance, loaded from the store. Get one with ``instances.current_builder()``."""

    record: BuilderRecord
    config: BuilderConfig
    store: BuilderStore

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def driver(self) -> str:
        return self.record.driver

    def nodes(self) -> list[AnyNode]:
        """The nodes, in the order they were added (assignment prefers earlier ones)."""
        return [_node(n, self.name) for n in self.record.nodes]

    def local_nodes(self) -> list[LocalNode]:
        """The nodes on this machine (their stores are here: locks, du and prune act on them)."""
        return [n for n in self.nodes() if isinstance(n, LocalNode)]

    def node(self, name: str | None = None) -> AnyNode:
        """The node called ``name``; the first node when None."""
        nodes = self.nodes()
        if name is None:
            return nodes[0]
        for node in nodes:
            if node.name == name:
                return node
        raise UsageError(f"builder {self.name!r} has no node {name!r}",
                         hint=f"see 'dockyard inspect {self.name}'")

    def store_root(self, node: str | None = None) -> Path:
        """Where ``du`` and ``prune`` act: the store of ``node`` (the first node by default)."""
        return self.node(node).store_root()

    def status(self) -> str:
        """``running`` when every node is, else the first node status that is not."""
        states = [n.status() for n in self.nodes()]
        return next((s for s in states if s != "running"), "running")

    def jobs(self) -> int:
        """How many build steps may run at once: ``max-parallelism`` from the config, else the CPU count."""
        return self.config.max_parallelism or os.cpu_count() or 1

    def collect_garbage(self) -> tuple[int, int]:
        """Apply the GC policy (buildkitd.toml ``gckeepstorage``/``gcpolicy``) to the first local node's store.

        Returns (cache records removed, bytes freed); (0, 0) when the policy is off or empty, or
        when no node is on this machine.
        """
        from dockyard.store.gc import auto_collect  # only builds collect: keep `ls` and friends light

        policy = self.config.gc
        local = self.local_nodes()
        if not policy.enabled or not policy.rules or not local:
            return 0, 0
        root = local[0].store_root()
        filesystem = os.statvfs(root)
        limits = [limit for rule in policy.rules if (limit := rule.limit(filesystem.f_blocks * filesystem.f_frsize))]
        return auto_collect(root, limit=min(limits) if limits else None)

    def registry(self, host: str) -> HostConfig:
        """Mirrors, TLS and plain-HTTP settings for ``host`` from the builder's config."""
        return self.config.registry(host)

    @property
    def placement(self) -> Placement:
        return Placement.parse(self.record.placement)

    def assign(self, requested: Sequence[Platform], *,
               placement: Placement | None = None) -> dict[Platform, AnyNode]:
        """The first node that builds each requested platform under the placement policy."""
        return assign_platforms(self.nodes(), requested, builder=self.name, placement=placement or self.placement)

    def bootstrap(self, *, only_inactive: bool = False, local_only: bool = False) -> Builder:
        """Bootstrap the nodes (all, or those not running; or only this machine's) and store what they found."""
        builder = self
        with self._bootstrap_lock():
            for node in self.local_nodes() if local_only else self.nodes():
                if only_inactive and node.status() == "running":
                    continue
                builder = builder.booted(node.record, node.bootstrap())
        return builder

    def booted(self, node: NodeRecord, boot: BootRecord) -> Builder:
        """Store what a bootstrap of ``node`` found (remote nodes report it at the start of each build)."""
        return dataclasses.replace(self, record=self.store.update(self.name, _booted(node, boot)))

    def ensure_booted(self) -> Builder:
        """What a build calls first: bootstrap this machine's nodes that are not running (a no-op when all
        are). Remote nodes are bootstrapped by the session that builds on them, so one that is down
        costs only its own platform's rotation, not the whole build."""
        if all(n.status() == "running" for n in self.local_nodes()):
            return self
        return self.bootstrap(only_inactive=True, local_only=True)

    def touch(self) -> Builder:
        """Record that the builder was used now (``Last Activity``; :meth:`BuilderStore.mark_used`)."""
        self.store.mark_used(self.name)
        return dataclasses.replace(self, record=dataclasses.replace(self.record, last_used=now()))

    @contextlib.contextmanager
    def in_use(self) -> Iterator[Builder]:
        """Hold the builder for a build: ``rm`` refuses while any process is inside this block.

        Entering records the use (``Last Activity``); the builder yielded carries that record.
        """
        fds: list[int] = []
        try:
            for node in self.local_nodes():
                node.store_root().mkdir(parents=True, exist_ok=True)
                fd = os.open(node.store_root() / IN_USE, os.O_RDWR | os.O_CREAT, 0o644)
                fds.append(fd)
                fcntl.flock(fd, fcntl.LOCK_SH)
            yield self.touch()
        finally:
            for fd in fds:
                os.close(fd)

    def busy(self) -> bool:
        """True while some process holds :meth:`in_use` on any node."""
        for node in self.local_nodes():
            path = node.store_root() / IN_USE
            if not path.exists():
                continue
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            finally:
                os.close(fd)
        return False

    @contextlib.contextmanager
    def _bootstrap_lock(self) -> Iterator[None]:
        # binfmt_misc is machine-wide: two bootstraps registering the same handler would race.
        self.store.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.store.root / ".bootstrap.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _node(record: NodeRecord, builder: str) -> AnyNode:
    if record.endpoint == "local":
        return LocalNode(record, node_store_root(builder, record.name))
    from dockyard.builders.kube import SCHEME as KUBE_SCHEME

    if record.endpoint.startswith(KUBE_SCHEME):
        from dockyard.builders.kube import KubeNode

        return KubeNode(record, builder)
    from dockyard.builders.ssh import SshNode

    return SshNode(record, builder)


def _booted(node: NodeRecord, boot: BootRecord) -> Callable[[BuilderRecord], BuilderRecord]:
    """The record change a bootstrap makes: the node's new boot state, not stopped, used now."""
    updated = dataclasses.replace(node, boot=boot, stopped=False)
    return lambda r: dataclasses.replace(r.with_node(updated), last_used=now())


def node_record(name: str, platforms: Sequence[Platform] = (), *, endpoint: str = "local") -> NodeRecord:
    """A new node record (``endpoint``: ``local`` or ``ssh://user@host[:port]``)."""
    return NodeRecord(name=name, endpoint=endpoint, platforms=tuple(platforms))

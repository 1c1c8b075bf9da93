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

from dockyard.builders.config import BuilderConfig
from dockyard.builders.local import LocalNode
from dockyard.builders.node import assign_platforms
from dockyard.builders.records import DEFAULT_NAME, BootRecord, BuilderRecord, NodeRecord, now
from dockyard.builders.store import BuilderStore
from dockyard.errors import UsageError
from dockyard.paths import data_root
from dockyard.platform import Platform
from dockyard.registry.hosts import HostConfig

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

    def nodes(self) -> list[LocalNode]:
        """The nodes, in the order they were added (assignment prefers earlier ones)."""
        return [LocalNode(n, node_store_root(self.name, n.name)) for n in self.record.nodes]

    def node(self, name: str | None = None) -> LocalNode:
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
        """Apply the GC policy (buildkitd.toml ``gckeepstorage``/``gcpolicy``) to the first node's store.

        Returns (cache records removed, bytes freed); (0, 0) when the policy is off or empty.
        """
        from dockyard.store.gc import auto_collect  # only builds collect: keep `ls` and friends light

        policy = self.config.gc
        if not policy.enabled or not policy.rules:
            return 0, 0
        root = self.store_root()
        filesystem = os.statvfs(root)
        limits = [limit for rule in policy.rules if (limit := rule.limit(filesystem.f_blocks * filesystem.f_frsize))]
        return auto_collect(root, limit=min(limits) if limits else None)

    def registry(self, host: str) -> HostConfig:
        """Mirrors, TLS and plain-HTTP settings for ``host`` from the builder's config."""
        return self.config.registry(host)

    def assign(self, requested: Sequence[Platform]) -> dict[Platform, LocalNode]:
        """The node that builds each requested platform (native first, then emulated)."""
        return assign_platforms(self.nodes(), requested, builder=self.name)

    def bootstrap(self, *, only_inactive: bool = False) -> Builder:
        """Bootstrap the nodes (all, or those not running) and store what they found."""
        record = self.record
        with self._bootstrap_lock():
            for node in self.nodes():
                if only_inactive and node.status() == "running":
                    continue
                boot = node.bootstrap()
                record = self.store.update(self.name, _booted(node.record, boot))
        return dataclasses.replace(self, record=record)

    def ensure_booted(self) -> Builder:
        """What a build calls first: bootstrap the nodes that are not running (a no-op when all are)."""
        return self if self.status() == "running" else self.bootstrap(only_inactive=True)

    def touch(self) -> Builder:
        """Record that the builder was used now (``Last Activity``)."""
        record = self.store.update(self.name, lambda r: dataclasses.replace(r, last_used=now()))
        return dataclasses.replace(self, record=record)

    @contextlib.contextmanager
    def in_use(self) -> Iterator[Builder]:
        """Hold the builder for a build: ``rm`` refuses while any process is inside this block.

        Entering records the use (``Last Activity``); the builder yielded carries that record.
        """
        fds: list[int] = []
        try:
            for node in self.nodes():
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
        for node in self.nodes():
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


def _booted(node: NodeRecord, boot: BootRecord) -> Callable[[BuilderRecord], BuilderRecord]:
    """The record change a bootstrap makes: the node's new boot state, not stopped, used now."""
    updated = dataclasses.replace(node, boot=boot, stopped=False)
    return lambda r: dataclasses.replace(r.with_node(updated), last_used=now())


def node_record(name: str, platforms: Sequence[Platform] = ()) -> NodeRecord:
    """A new local node record."""
    return NodeRecord(name=name, platforms=tuple(platforms))

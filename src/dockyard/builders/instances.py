"""The builder verbs as library functions: create, use, remove, stop, and finding the builder in use.

``cli/create.py`` and friends only parse options and call these. The builder a command
acts on is, in order: ``--builder NAME``, $DOCKYARD_BUILDER, $BUILDX_BUILDER (so scripts
written for buildx keep working), the one chosen with ``dockyard use``, else ``default``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.builders.builder import Builder, builder_store_dir, node_record, node_store_root
from dockyard.builders.config import BuilderConfig, load_config
from dockyard.builders.node import Placement
from dockyard.builders.records import DEFAULT_NAME, BuilderRecord, now
from dockyard.builders.store import BuilderStore, validate_name
from dockyard.builders.summary import BuilderInfo, builder_info
from dockyard.errors import NotBuiltError, UsageError
from dockyard.platform import Platform

ENV_VARS = ("DOCKYARD_BUILDER", "BUILDX_BUILDER")
LATER_DRIVERS = {"docker-container", "remote", "ssh"}
DRIVERS = ("local", "kubernetes")


@dataclass(frozen=True, kw_only=True)
class CreateOptions:
    """``dockyard create``'s options; ``endpoint`` is the optional positional argument."""

    name: str | None = None
    driver: str = "local"
    node: str | None = None
    platforms: tuple[Platform, ...] = ()
    config: Path | None = None
    use: bool = False
    append: bool = False
    leave: bool = False
    bootstrap: bool = False
    endpoint: str | None = None
    placement: Placement | None = None  # None: keep the builder's (prefer-native for a new one)
    driver_opts: tuple[str, ...] = ()  # --driver-opt values (kubernetes)


def builder_name(override: str | None = None, *, store: BuilderStore | None = None) -> str:
    """The name of the builder in use: ``override`` (``--builder``), the environment, then ``use``."""
    if override:
        return override
    for var in ENV_VARS:
        if os.environ.get(var):
            return os.environ[var]
    return (store or BuilderStore()).current()


def open_builder(name: str, *, store: BuilderStore | None = None) -> Builder:
    """Load builder ``name`` with its config; an unknown name is a one-line UsageError."""
    store = store or BuilderStore()
    record = store.get(validate_name(name))
    path = store.config_path(record)
    config = load_config(path) if path else BuilderConfig()
    return Builder(record=record, config=config, store=store)


def current_builder(override: str | None = None, *, store: BuilderStore | None = None) -> Builder:
    """The builder a build should use (see the module docstring for the order)."""
    store = store or BuilderStore()
    return open_builder(builder_name(override, store=store), store=store)


def list_builders(*, store: BuilderStore | None = None) -> list[Builder]:
    """Every builder, ``default`` first."""
    store = store or BuilderStore()
    return [open_builder(n, store=store) for n in store.names()]


def summaries(*, override: str | None = None, store: BuilderStore | None = None) -> list[BuilderInfo]:
    """Every builder as plain values (``ls``), the one in use (``override``: ``--builder``) marked current."""
    store = store or BuilderStore()
    current = builder_name(override, store=store)
    return [builder_info(b, current=current) for b in list_builders(store=store)]


def create_builder(opts: CreateOptions, *, store: BuilderStore | None = None) -> Builder:  # noqa: C901, PLR0912 - buildx create's flag rules (append, leave, node, platform) checked in its order
    """Create a builder, add a node to one (``append``) or take a node out (``leave``)."""
    store = store or BuilderStore()
    if opts.driver in LATER_DRIVERS:
        raise NotBuiltError(f"driver {opts.driver!r} is not built yet",
                            hint="use --driver local (with ssh:// endpoints for remote nodes) or kubernetes")
    if opts.driver not in DRIVERS:
        raise UsageError(f"unknown driver {opts.driver!r}", hint="available drivers: " + ", ".join(DRIVERS))
    from dockyard.builders.kube import KubeOptions, endpoint_for, parse_driver_opts  # a builder's management only
    from dockyard.builders.ssh import SshEndpoint

    driver_opts = parse_driver_opts(opts.driver_opts) if opts.driver == "kubernetes" else {}
    if opts.driver_opts and opts.driver != "kubernetes":
        raise UsageError("--driver-opt is only for --driver kubernetes")
    endpoint = opts.endpoint or "local"
    if opts.driver == "kubernetes" and opts.endpoint:
        raise UsageError("a kubernetes node takes no endpoint", hint="use --driver-opt namespace=...,context=...")
    if endpoint != "local":
        SshEndpoint.parse(endpoint)  # a UsageError names what is wrong with it
    if opts.leave:
        return _leave(opts, store)
    if opts.append and not opts.name:
        raise UsageError("--append needs --name of the builder to add a node to")
    name = validate_name(opts.name or "builder-" + os.urandom(3).hex())
    if name == DEFAULT_NAME:
        raise UsageError("the default builder cannot be created or changed", hint="choose another --name")
    node_name = validate_name(opts.node, what="node") if opts.node else None
    config = load_config(opts.config) if opts.config else None  # fail before storing anything
    platforms = opts.platforms or (config.platforms if config else ())
    with store.locked():
        if store.exists(name):
            if not opts.append:
                raise UsageError(f"builder {name!r} already exists",
                                 hint="add a node with --append, or choose another --name")
            record = store.get(name)
        else:
            record = BuilderRecord(name=name, driver=opts.driver, created=now())
        if opts.placement is not None:
            record = dataclasses.replace(record, placement=opts.placement.value)
        if node_name is None:
            taken = {n.name for n in record.nodes}
            node_name = next(f"{name}{i}" for i in range(len(taken) + 1) if f"{name}{i}" not in taken)
        if opts.driver == "kubernetes":
            endpoint = endpoint_for(KubeOptions.parse(driver_opts), name, node_name)
        record = record.with_node(dataclasses.replace(node_record(node_name, platforms, endpoint=endpoint),
                                                      driver_opts=tuple(sorted(driver_opts.items()))))
        if opts.config:
            record = dataclasses.replace(record, config_file=store.install_config(name, opts.config))
        store.put(record)
        if opts.use:
            store.set_current(name)
    builder = open_builder(name, store=store)
    return builder.bootstrap() if opts.bootstrap else builder


def _leave(opts: CreateOptions, store: BuilderStore) -> Builder:
    if not opts.name or not opts.node:
        raise UsageError("--leave needs --name and --node", hint="e.g. dockyard create --leave --name b --node b1")
    with store.locked():
        record = store.get(validate_name(opts.name))
        if record.node(opts.node) is None:
            raise UsageError(f"builder {record.name!r} has no node {opts.node!r}")
        if len(record.nodes) == 1:
            raise UsageError(f"node {opts.node!r} is the last node of {record.name!r}",
                             hint=f"remove the builder with 'dockyard rm {record.name}'")
        leaving = open_builder(record.name, store=store).node(opts.node)
        from dockyard.builders.kube import KubeNode

        if isinstance(leaving, KubeNode):
            leaving.remove()
        record = dataclasses.replace(record, nodes=tuple(n for n in record.nodes if n.name != opts.node))
        store.put(record)
    shutil.rmtree(node_store_root(record.name, opts.node), ignore_errors=True)
    return open_builder(record.name, store=store)


def use_builder(name: str, *, store: BuilderStore | None = None) -> Builder:
    """Make ``name`` the builder used when nothing else names one."""
    store = store or BuilderStore()
    builder = open_builder(name, store=store)  # unknown names fail here
    with store.locked():
        store.set_current(name)
    return builder.touch() if name != DEFAULT_NAME or store.dir(name).exists() else builder


def remove_builders(names: Sequence[str], *, keep_state: bool = False, store: BuilderStore | None = None) -> None:
    """Remove builders and (unless ``keep_state``) their nodes' stores; refuses ``default`` and busy ones."""
    store = store or BuilderStore()
    for name in names:
        if name == DEFAULT_NAME:
            raise UsageError("the default builder cannot be removed",
                             hint="remove builders you created by name; 'dockyard use default' switches back to it")
    builders = [open_builder(name, store=store) for name in names]  # unknown names fail before any removal
    for builder in builders:
        if builder.busy():
            raise UsageError(f"builder {builder.name!r} is in use by a running build",
                             hint="wait for the build to finish, then remove it")
    from dockyard.builders.kube import KubeNode

    for builder in builders:
        for node in builder.nodes():
            if isinstance(node, KubeNode):
                node.remove()  # the Deployment (and its pods' stores) go first: a failure keeps the record
        name = builder.name
        with store.locked():
            store.remove(name)
            if store.current() == DEFAULT_NAME:  # current() already ignores a pointer to a removed builder
                store.set_current(DEFAULT_NAME)
        if not keep_state:
            shutil.rmtree(builder_store_dir(name), ignore_errors=True)


def removal_targets(names: Sequence[str], *, all_inactive: bool = False, override: str | None = None,
                    store: BuilderStore | None = None) -> list[str]:
    """The builders ``rm`` removes: ``names``, every inactive one (``--all-inactive``), else the one in use."""
    if all_inactive:
        if names:
            raise UsageError("--all-inactive takes no builder names")
        return inactive_builders(store=store)
    return list(names) or [builder_name(override, store=store)]


def inspect_builder(name: str | None = None, *, bootstrap: bool = False,
                    store: BuilderStore | None = None) -> Builder:
    """The builder ``name`` (the one in use when None), bootstrapped first when asked (``inspect --bootstrap``)."""
    builder = current_builder(name, store=store)
    return builder.bootstrap() if bootstrap else builder


def inactive_builders(*, store: BuilderStore | None = None) -> list[str]:
    """Names of the builders (other than ``default``) whose nodes are not running."""
    return [b.name for b in list_builders(store=store) if b.name != DEFAULT_NAME and b.status() != "running"]


def stop_builder(name: str, *, store: BuilderStore | None = None) -> Builder:
    """Mark every node stopped: the next build or ``inspect --bootstrap`` bootstraps it again."""
    store = store or BuilderStore()
    open_builder(name, store=store)
    record = store.update(name, lambda r: dataclasses.replace(
        r, nodes=tuple(dataclasses.replace(n, stopped=True) for n in r.nodes)))
    return open_builder(record.name, store=store)

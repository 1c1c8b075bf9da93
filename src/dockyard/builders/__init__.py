"""Builder instances: named sets of nodes that choose where each platform of a build runs.

This package's face is the public API for managing them (re-exported as ``dockyard.builders``,
docs/api.md), one function per ``docker buildx`` verb with its flags as keyword arguments::

    import dockyard

    b = dockyard.builders.create(name="ci", platforms=["linux/amd64", "linux/arm64"], use=True)
    dockyard.builders.create("ssh://build@arm.example", name="ci", append=True, node="arm")
    [n.name for n in dockyard.builders.inspect("ci").nodes]       # ['ci0', 'arm']
    dockyard.builders.ls(), dockyard.builders.use("default"), dockyard.builders.stop("ci")
    dockyard.builders.du(builder="ci").reclaimable, dockyard.builders.prune(builder="ci", all=True)
    dockyard.builders.rm("ci")

Arguments are plain values, checked once (a wrong type is an
:class:`~dockyard.errors.ArgumentError`); results are the frozen records of :mod:`.summary`.
The CLI verbs (``cli/create.py`` ...) parse their flags into the same typed requests
(:class:`.instances.CreateOptions`, :class:`.cache.PruneRequest`) and call the same functions.

Inside the library, a build asks :mod:`.instances` for the builder in use
(``current_builder(name).ensure_booted()``, then ``assign(platforms)``; :mod:`.builder`).
Records live in $XDG_CONFIG_HOME/dockyard/builders (:mod:`.store`); nodes are local
(:mod:`.local`), SSH (:mod:`.ssh`) or Kubernetes pods (:mod:`.kube`), all following
:class:`.node.Node`. Importing this package stays cheap: the verbs load what they use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dockyard import arguments
from dockyard.builders.summary import BuilderInfo, CacheUsage, DiskUsage, NodeInfo, Pruned

__all__ = ["BuilderInfo", "CacheUsage", "DiskUsage", "NodeInfo", "Pruned", "create", "du", "inspect", "ls",
           "prune", "rm", "stop", "use"]


def create(endpoint: str | None = None, *, name: str | None = None, driver: str = "local", node: str | None = None,
           platforms: str | Sequence[str] = (), config: str | Path | None = None, use: bool = False,
           append: bool = False, leave: bool = False, bootstrap: bool = False, placement: str | None = None,
           driver_opts: str | Sequence[str] = ()) -> BuilderInfo:
    """Create a builder (``dockyard create``), add a node to one (``append``) or take one out (``leave``).

    ``endpoint`` is ``"local"`` (default) or ``"ssh://user@host[:port]"`` for a remote node (recorded,
    not contacted unless ``bootstrap``); ``driver`` is ``"local"`` or ``"kubernetes"`` (with
    ``driver_opts`` such as ``["namespace=ci,replicas=2"]``); ``node`` names the node (default
    NAME0, NAME1, ...); ``platforms`` fixes the node's platforms (``"linux/amd64,linux/arm64"`` or a
    list); ``config`` is a buildkitd.toml-shaped file, copied beside the record; ``use`` makes it the
    builder in use; ``bootstrap`` boots its nodes now; ``placement`` is ``"native-only"``,
    ``"prefer-native"`` (default) or ``"any"``. Returns the builder as stored.
    """
    from dockyard.builders.instances import CreateOptions, builder_name, create_builder
    from dockyard.builders.node import Placement
    from dockyard.builders.summary import builder_info
    from dockyard.platform import parse_platforms

    wanted = [p for text in arguments.strings("platforms", platforms) for p in parse_platforms(text)]
    chosen = arguments.text("placement", placement)
    opts = CreateOptions(
        name=arguments.text("name", name), driver=_text("driver", driver), node=arguments.text("node", node),
        platforms=tuple(dict.fromkeys(wanted)), config=arguments.path("config", config, optional=True),
        use=arguments.flag("use", use), append=arguments.flag("append", append),
        leave=arguments.flag("leave", leave), bootstrap=arguments.flag("bootstrap", bootstrap),
        endpoint=arguments.text("endpoint", endpoint), placement=Placement.parse(chosen) if chosen else None,
        driver_opts=arguments.strings("driver_opts", driver_opts))
    built = create_builder(opts)
    return builder_info(built, current=builder_name())


def ls() -> tuple[BuilderInfo, ...]:
    """Every builder (``default`` first) with its nodes; ``current`` marks the one in use (``--builder``
    aside: $DOCKYARD_BUILDER, $BUILDX_BUILDER, then the one chosen with :func:`use`)."""
    from dockyard.builders.instances import summaries

    return tuple(summaries())


def inspect(name: str | None = None, *, bootstrap: bool = False) -> BuilderInfo:
    """One builder (the one in use when ``name`` is None); ``bootstrap`` boots its nodes first, which
    checks each platform by running a real binary (emulated through qemu where needed)."""
    from dockyard.builders.instances import builder_name, inspect_builder
    from dockyard.builders.summary import builder_info

    found = inspect_builder(arguments.text("name", name), bootstrap=arguments.flag("bootstrap", bootstrap))
    return builder_info(found, current=builder_name())


def use(name: str) -> BuilderInfo:
    """Make ``name`` the builder used when neither ``builder=`` nor the environment names one; returns it
    (``current`` is False while $DOCKYARD_BUILDER or $BUILDX_BUILDER names another)."""
    from dockyard.builders.instances import builder_name, use_builder
    from dockyard.builders.summary import builder_info

    chosen = use_builder(_text("name", name))
    return builder_info(chosen, current=builder_name())  # $DOCKYARD_BUILDER/$BUILDX_BUILDER still win


def stop(name: str | None = None) -> BuilderInfo:
    """Mark the builder's nodes stopped (the one in use when ``name`` is None); the next build boots them."""
    from dockyard.builders.instances import builder_name, stop_builder
    from dockyard.builders.summary import builder_info

    stopped = stop_builder(builder_name(arguments.text("name", name)))
    return builder_info(stopped, current=builder_name())


def rm(names: str | Sequence[str] = (), *, all_inactive: bool = False, keep_state: bool = False) -> tuple[str, ...]:
    """Remove builders (the one in use when ``names`` is empty) and, unless ``keep_state``, their nodes'
    stores; ``all_inactive`` removes every builder whose nodes are not running. ``default`` and
    builders in use by a running build are refused before anything is removed. Returns the names
    removed. (``--force`` is the CLI's answer to its prompt; the library never prompts.)"""
    from dockyard.builders.instances import removal_targets, remove_builders

    targets = removal_targets(arguments.strings("names", names), all_inactive=arguments.flag("all_inactive",
                                                                                              all_inactive))
    remove_builders(targets, keep_state=arguments.flag("keep_state", keep_state))
    return tuple(targets)


def du(*, builder: str | None = None) -> DiskUsage:
    """The build cache of ``builder`` (the one in use by default): each record, reclaimable bytes, total."""
    from dockyard.builders.cache import disk_usage

    return disk_usage(arguments.text("builder", builder))


def prune(*, builder: str | None = None, all: bool = False, filters: str | Sequence[str] = (),
          keep_storage: str | int | None = None) -> Pruned:
    """Remove build cache of ``builder`` (the one in use by default), least recently used first.

    ``all`` includes base image layers; ``filters`` takes buildx's ``until=24h`` (only records unused
    that long); ``keep_storage`` keeps that much (``"10GB"``, ``"512MiB"`` or bytes). Leftovers of
    killed builds are removed too. (``--force`` is the CLI's answer to its prompt; none here.)
    """
    from dockyard.builders.cache import PruneRequest, parse_filters, prune_cache
    from dockyard.store.gc import parse_size

    keep: int | None
    if keep_storage is None or (isinstance(keep_storage, int) and not isinstance(keep_storage, bool)):
        keep = keep_storage
    elif isinstance(keep_storage, str):
        keep = parse_size(keep_storage)
    else:
        from dockyard.errors import ArgumentError

        raise ArgumentError(f"keep_storage must be a size string or bytes, not {type(keep_storage).__name__}",
                            hint='e.g. keep_storage="10GB"')
    return prune_cache(PruneRequest(builder=arguments.text("builder", builder), all=arguments.flag("all", all),
                                    until=parse_filters(arguments.strings("filters", filters)), keep_storage=keep))


def _text(name: str, value: object) -> str:
    checked = arguments.text(name, value, optional=False)
    assert checked is not None
    return checked

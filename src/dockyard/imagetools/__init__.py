"""``imagetools``: work on images that are already in registries, without building.

The API (re-exported as ``dockyard.imagetools``): :func:`inspect` (what a reference names,
per platform, with each platform's config and attestations) and :func:`create` (merge images
and indexes into one index, copying blobs between repositories and registries, pushed under
every tag). The modules behind them: ``inspection``, ``combine``, ``mirror`` (``create --from``)
and ``importer`` (a multi-platform base image from root filesystem tarballs). The CLI
(``dockyard.cli.imagetools``) parses options and calls the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dockyard import arguments

if TYPE_CHECKING:
    from dockyard.imagetools.inspection import Inspection
    from dockyard.oci.index import Index
    from dockyard.registry.client import Client

__all__ = ["Created", "create", "inspect"]


def _client(insecure: tuple[str, ...]) -> Client:
    from dockyard.registry.client import Client
    from dockyard.registry.hosts import HostsConfig

    return Client(hosts=HostsConfig.load(insecure=frozenset(insecure)))


def inspect(ref: str, *, insecure: str | Sequence[str] = ()) -> Inspection:
    """What ``ref`` names: the top document (``raw`` bytes, ``descriptor``, index ``entries``),
    each platform's image (``images``: manifest and config) and attestations (``attested``).

    ``insecure`` lists registries (``HOST[:PORT]``) reached over plain HTTP or unverified TLS.
    """
    from dockyard.imagetools.inspection import inspect as run
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    name = arguments.text("ref", ref, optional=False)
    assert name is not None
    with _client(arguments.strings("insecure", insecure)) as client:
        return run(client, Reference.parse(name), store=ContentStore.default(), details=True)


@dataclass(frozen=True)
class Created:
    """The index :func:`create` made; ``digest`` is None with ``dry_run`` (nothing was pushed)."""

    index: Index
    digest: str | None


def create(sources: str | Sequence[str], *, tags: str | Sequence[str], append: bool = False,
           platforms: str | Sequence[str] = (), dry_run: bool = False, insecure: str | Sequence[str] = ()) -> Created:
    """Merge ``sources`` (references to images or indexes) into one index pushed under every tag.

    The flags are buildx's: ``tags`` (one or more targets; blobs are copied to them first, the
    index next, tags last), ``append`` (add to the index the first tag names), ``platforms``
    (keep only these), ``dry_run`` (return the index without pushing anything).
    """
    from dockyard.imagetools import combine
    from dockyard.platform import Platform, parse_platforms
    from dockyard.reference import Reference
    from dockyard.store.content import ContentStore

    targets = [Reference.parse(t) for t in arguments.strings("tags", tags)]
    if not targets:
        from dockyard.errors import ArgumentError

        raise ArgumentError("create needs at least one tag", hint='e.g. tags=["registry.example/app:1"]')
    refs = [combine.parse_source(s, targets) for s in arguments.strings("sources", sources)]
    wanted: list[Platform] = []
    for text in arguments.strings("platforms", platforms):
        wanted += [p for p in parse_platforms(text) if p not in wanted]
    store = ContentStore.default()
    with _client(arguments.strings("insecure", insecure)) as client:
        plan = combine.plan(client, refs, store=store, platforms=wanted,
                            append=targets[0] if arguments.flag("append", append) else None)
        if arguments.flag("dry_run", dry_run):
            return Created(plan.index, None)
        desc = combine.push(client, plan, targets, store=store)
    return Created(plan.index, str(desc.digest))

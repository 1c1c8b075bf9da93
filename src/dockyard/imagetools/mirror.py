"""``imagetools create --from REF -t ...``: copy a release, byte for byte, to other registries.

Unlike ``create SOURCES`` (which makes a new index from its sources), a mirror keeps the
source's manifest or index exactly, so every registry serves the same digest. The copy goes
through the same two-phase delivery as a build (``exporters.multipush``): every target gets all
blobs and manifests by digest first (fetched from the source only when a target lacks them,
mounted when source and target share a registry), the digest is verified in each, and only
then do tags move.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.exporters.multipush import Notify, push_everywhere
from dockyard.exporters.output import PushTarget
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.source import walk
from dockyard.reference import Reference
from dockyard.registry.client import Client, FetchingSource
from dockyard.store.content import ContentStore


def group_targets(targets: Sequence[Reference]) -> list[PushTarget]:
    """One push target per repository, its tags in the order given."""
    grouped: dict[tuple[str, str], PushTarget] = {}
    for ref in targets:
        key = (ref.registry, ref.repository)
        have = grouped.get(key)
        if have is None:
            grouped[key] = PushTarget(reference=ref)
        elif ref.tag and ref.tag != have.reference.tag and ref.tag not in have.tags:
            grouped[key] = PushTarget(reference=have.reference, tags=(*have.tags, ref.tag))
    return list(grouped.values())


def mirror(client: Client, source: Reference, targets: Sequence[Reference], *, store: ContentStore,
           retries: int = 0, notify: Notify = lambda _message: None) -> Descriptor:
    """Copy what ``source`` names (all platforms) to every target; returns its descriptor."""
    top = client.pull_all(source, store=store, blobs_too=False)
    fetching = FetchingSource(client, source, store)
    for part in walk(store, top)[2].values():
        fetching.expect(part)
    push_everywhere(client, group_targets(targets), top, fetching, retries=retries, notify=notify)
    return top

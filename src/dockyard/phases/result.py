"""What a build made: :class:`BuildResult`, the value that flows from assemble to deliver."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.store.content import ContentStore


@dataclass(frozen=True)
class BuildResult:
    """The built image: ``descriptor`` is a manifest (one platform) or an index (several).

    Every blob it names is in ``content``; ``ran`` and ``cached`` count the solved vertices.
    """

    descriptor: Descriptor
    manifests: dict[Platform, Descriptor]
    configs: dict[Platform, Descriptor]
    content: ContentStore
    ran: int
    cached: int

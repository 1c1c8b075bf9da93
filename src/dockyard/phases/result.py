"""What a build made: :class:`BuildResult`, the value that flows from assemble to deliver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dockyard.engine.bases import ResolvedBase
from dockyard.graph import ops
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.content import ContentStore


@dataclass(frozen=True)
class BuildResult:
    """The built image: ``descriptor`` is a manifest (one platform) or an index (several) over
    ``images``, each platform's image (manifest and config) in build order.

    Every blob it names is in ``content``; ``ran`` and ``cached`` count the solved vertices.
    ``bases`` and ``graphs`` (what was built from what) are for the attest hook; ``referrers``
    are artifacts an attestor made (OCI 1.1 referrers storage) that delivery pushes before any tag.
    """

    descriptor: Descriptor
    images: dict[Platform, PlatformImage]
    content: ContentStore
    ran: int
    cached: int
    bases: tuple[ResolvedBase, ...] = ()
    graphs: Mapping[Platform, ops.State] = field(default_factory=dict)
    referrers: tuple[Manifest, ...] = ()
    # per platform, the layers of each other stage an SBOM describes too (BUILDKIT_SBOM_SCAN_STAGE)
    stages: Mapping[Platform, tuple[tuple[str, tuple[Descriptor, ...]], ...]] = field(default_factory=dict)
    sbom_context: frozenset[Platform] = frozenset()  # platforms whose SBOM describes the build context too

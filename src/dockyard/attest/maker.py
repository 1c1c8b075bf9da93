"""The statements one build makes: per platform an SPDX SBOM and/or a SLSA provenance.

Called by the build's attest phase with what the earlier phases know: each platform's
image (its layers are in the content store), the base images each platform was built
from, its graph (for max-mode steps) and the request. Nothing is pulled or run here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial

from dockyard.attest import intoto, provenance, spdx
from dockyard.attest.catalog import catalog
from dockyard.attest.imagefs import LayerOpener
from dockyard.attest.options import AttestOptions
from dockyard.attest.provenance import Invocation
from dockyard.engine.bases import ResolvedBase
from dockyard.graph import ops
from dockyard.oci.image import PlatformImage
from dockyard.oci.layer import open_uncompressed
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.store.content import ContentStore


def _layers(content: ContentStore, image: PlatformImage) -> list[LayerOpener]:
    return [partial(open_uncompressed, content.path(layer.digest)) for layer in image.layers]


def statements(content: ContentStore, *, images: Mapping[Platform, PlatformImage], options: AttestOptions,
               invocation: Invocation, bases: Mapping[Platform, Sequence[ResolvedBase]],
               roots: Mapping[Platform, ops.State], name: Reference | None,
               created: str) -> dict[Platform, list[intoto.Statement]]:
    """Every statement ``options`` asks for, by platform, about the images just built."""
    out: dict[Platform, list[intoto.Statement]] = {}
    inv = replace(invocation, builder_id=options.builder_id)
    for platform, image in images.items():
        manifest = image.descriptor
        subject = intoto.subject_name(name, platform)
        mine = out.setdefault(platform, [])
        if options.sbom:
            found = catalog(_layers(content, image))
            document = spdx.document(found, name=subject if name else f"sha256:{manifest.digest.hex}",
                                     created=created)
            mine.append(intoto.Statement(subject_name=subject, subject_digest=manifest.digest,
                                         predicate_type=intoto.SPDX_PREDICATE, predicate=document))
        if options.provenance is not None:
            predicate = provenance.predicate(inv, bases=bases.get(platform, ()), mode=options.provenance,
                                             root=roots.get(platform))
            mine.append(intoto.Statement(subject_name=subject, subject_digest=manifest.digest,
                                         predicate_type=intoto.SLSA_PREDICATE, predicate=predicate))
    return out

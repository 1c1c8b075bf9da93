"""The statements one build makes: per platform an SPDX SBOM and/or a SLSA provenance.

Called by the build's attest phase with what the earlier phases know: each platform's
manifest (its layers are in the content store), the base images each platform was built
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
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.layer import open_uncompressed
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.store.content import ContentStore


def _layers(content: ContentStore, manifest: Descriptor) -> list[LayerOpener]:
    doc = Manifest.from_bytes(content.read_bytes(manifest.digest), media_type=manifest.media_type)
    return [partial(open_uncompressed, content.path(layer.digest)) for layer in doc.layers]


def statements(content: ContentStore, *, manifests: Mapping[Platform, Descriptor], options: AttestOptions,
               invocation: Invocation, bases: Mapping[Platform, Sequence[ResolvedBase]],
               roots: Mapping[Platform, ops.State], name: Reference | None,
               created: str) -> dict[Platform, list[intoto.Statement]]:
    """Every statement ``options`` asks for, by platform, about the manifests just assembled."""
    out: dict[Platform, list[intoto.Statement]] = {}
    inv = replace(invocation, builder_id=options.builder_id)
    for platform, manifest in manifests.items():
        subject = intoto.subject_name(name, platform)
        mine = out.setdefault(platform, [])
        if options.sbom:
            found = catalog(_layers(content, manifest))
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

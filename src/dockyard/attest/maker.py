"""The statements one build makes: per platform an SBOM (SPDX or CycloneDX) and/or a SLSA provenance.

Called by the build's attest phase with what the earlier phases know: each platform's
image (its layers are in the content store), the base images each platform was built
from, its graph (for max-mode steps) and the request. Nothing is pulled or run here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from dockyard.attest import cyclonedx, intoto, provenance, spdx
from dockyard.attest.catalog import catalog, catalog_tree
from dockyard.attest.imagefs import LayerOpener
from dockyard.attest.options import AttestOptions, SbomFormat
from dockyard.attest.provenance import Invocation
from dockyard.engine.bases import ResolvedBase
from dockyard.graph import ops
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.layer import open_uncompressed
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.store.content import ContentStore

if TYPE_CHECKING:
    from dockyard.selector import SourceTree


# each SBOM format: its in-toto predicate type and its writer (document(catalog, name=, created=))
_SBOM_WRITERS = {SbomFormat.SPDX: (intoto.SPDX_PREDICATE, spdx.document),
                 SbomFormat.CYCLONEDX: (intoto.CYCLONEDX_PREDICATE, cyclonedx.document)}
EXTRA_PREFIX = "sbom-"  # BuildKit's ExtraSBOMPrefix: an extra scan is named sbom-STAGE (sbom-context)


def _layers(content: ContentStore, layers: Sequence[Descriptor]) -> list[LayerOpener]:
    return [partial(open_uncompressed, content.path(layer.digest)) for layer in layers]


def statements(content: ContentStore, *, images: Mapping[Platform, PlatformImage], options: AttestOptions,
               invocation: Invocation, bases: Mapping[Platform, Sequence[ResolvedBase]],
               roots: Mapping[Platform, ops.State], name: Reference | None, created: str,
               stages: Mapping[Platform, Sequence[tuple[str, Sequence[Descriptor]]]] | None = None,
               context: Mapping[Platform, SourceTree] | None = None) -> dict[Platform, list[intoto.Statement]]:
    """Every statement ``options`` asks for, by platform, about the images just built.

    The SBOM of the final image comes first; each other stage in ``stages`` (its layers) and the
    build context (``context``) get their own SBOM statement (SPDX, or CycloneDX as asked) after it,
    about the same subject and named ``sbom-STAGE``/``sbom-context``, as BuildKit stores its extra
    scans (the core document first: exporter/attestation/unbundle.go ``sort``; names: frontend/attestations/sbom's
    ``ExtraSBOMPrefix``), so buildx's ``.SBOM.AdditionalSPDXs`` lists them (SPDX).
    """
    out: dict[Platform, list[intoto.Statement]] = {}
    inv = replace(invocation, builder_id=options.builder_id)
    for platform, image in images.items():
        manifest = image.descriptor
        subject = intoto.subject_name(name, platform)
        mine = out.setdefault(platform, [])
        if options.sbom:
            found = [(subject if name else f"sha256:{manifest.digest.hex}", catalog(_layers(content, image.layers)))]
            for stage, layers in (stages or {}).get(platform, ()):
                found.append((EXTRA_PREFIX + stage, catalog(_layers(content, layers))))
            tree = (context or {}).get(platform)
            if tree is not None:
                found.append((EXTRA_PREFIX + "context", catalog_tree(tree)))
            predicate_type, write = _SBOM_WRITERS[options.sbom_format]
            mine += [intoto.Statement(subject_name=subject, subject_digest=manifest.digest,
                                      predicate_type=predicate_type,
                                      predicate=write(packages, name=document, created=created))
                     for document, packages in found]
        if options.provenance is not None:
            predicate = provenance.predicate(inv, bases=bases.get(platform, ()), mode=options.provenance,
                                             root=roots.get(platform))
            mine.append(intoto.Statement(subject_name=subject, subject_digest=manifest.digest,
                                         predicate_type=intoto.SLSA_PREDICATE, predicate=predicate))
    return out

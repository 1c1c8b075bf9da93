"""Where attestations live next to an image: in its index (buildx) or as OCI 1.1 referrers.

``Storage.INDEX`` is buildx's layout (BuildKit docs/attestations/attestation-storage.md): per
platform one *attestation manifest*, an image manifest whose layers are the in-toto
statements (``application/vnd.in-toto+json``, annotated ``in-toto.io/predicate-type``) and
whose config is a placeholder ``unknown/unknown`` image config; the index lists it with
platform ``unknown/unknown`` and the annotations ``vnd.docker.reference.type=attestation-manifest``
and ``vnd.docker.reference.digest=<platform manifest>``. Every buildx-era reader finds them
there, at the price of an index entry that some registries and tools take for a platform.

``Storage.REFERRERS`` keeps the index to the real platforms: each statement is an OCI 1.1
artifact (``artifactType: application/vnd.in-toto+json``, empty config, ``subject`` = the
platform manifest), pushed through the referrers API or the referrers tag schema
(:mod:`dockyard.registry.referrers`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockyard.attest.intoto import MEDIA_TYPE, PREDICATE_ANNOTATION, Statement
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.store.content import ContentStore

REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
UNKNOWN = Platform("unknown", "unknown")
EMPTY = b"{}"


class Storage(enum.Enum):
    INDEX = "index"
    REFERRERS = "referrers"


@dataclass(frozen=True)
class Attached:
    """The result of attaching: the new top descriptor, and referrer artifacts still to push."""

    top: Descriptor
    referrers: tuple[Manifest, ...] = ()


def _statement_layer(content: ContentStore, statement: Statement) -> Descriptor:
    data = statement.to_bytes()
    content.ingest_bytes(data)
    return Descriptor.of_bytes(MEDIA_TYPE, data, annotations={PREDICATE_ANNOTATION: statement.predicate_type})


def attestation_manifest(content: ContentStore, subject: Descriptor, statements: Sequence[Statement]) -> Descriptor:
    """Store buildx's attestation manifest for ``subject``; return its index entry."""
    layers = tuple(_statement_layer(content, s) for s in statements)
    config = canonical.encode({"architecture": "unknown", "os": "unknown", "config": {},
                               "rootfs": {"type": "layers", "diff_ids": [str(d.digest) for d in layers]}})
    content.ingest_bytes(config)
    manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config), layers=layers)
    content.ingest_bytes(manifest.to_bytes())
    return manifest.descriptor(platform=UNKNOWN, annotations={REFERENCE_DIGEST: str(subject.digest),
                                                              REFERENCE_TYPE: ATTESTATION_MANIFEST})


def referrer_artifact(content: ContentStore, subject: Descriptor, statement: Statement) -> Manifest:
    """Store one statement as an OCI 1.1 artifact manifest whose subject is ``subject``."""
    content.ingest_bytes(EMPTY)
    layer = _statement_layer(content, statement)
    manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_EMPTY, EMPTY), layers=(layer,),
                        subject=Descriptor(subject.media_type, subject.digest, subject.size),
                        artifact_type=MEDIA_TYPE, annotations={PREDICATE_ANNOTATION: statement.predicate_type})
    content.ingest_bytes(manifest.to_bytes())
    return manifest


def attach(content: ContentStore, *, manifests: Mapping[Platform, Descriptor],
           statements: Mapping[Platform, Sequence[Statement]], storage: Storage, oci: bool = True,
           annotations: Mapping[str, str] | None = None) -> Attached:
    """The image with its attestations: a new index (either way; buildx also turns one platform
    into an index when it attests) and, for referrers storage, the artifacts to push after it.
    ``annotations`` are the assembled index's own (``--annotation index:...``), kept on the new one."""
    entries = list(manifests.values())
    artifacts: list[Manifest] = []
    for platform, subject in manifests.items():
        mine = statements.get(platform, ())
        if not mine:
            continue
        if storage is Storage.INDEX:
            entries.append(attestation_manifest(content, subject, mine))
        else:
            artifacts += [referrer_artifact(content, subject, s) for s in mine]
    if storage is Storage.REFERRERS and len(manifests) == 1:
        top = next(iter(manifests.values()))
    else:
        index = Index(manifests=tuple(entries),
                      media_type=mediatypes.OCI_INDEX if oci else mediatypes.DOCKER_MANIFEST_LIST,
                      annotations=dict(annotations or {}))
        content.ingest_bytes(index.to_bytes())
        top = index.descriptor()
    return Attached(top=top, referrers=tuple(artifacts))

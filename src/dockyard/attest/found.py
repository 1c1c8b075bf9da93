"""Reading attestations back from a registry, wherever they were stored (index or referrers).

For each platform image of a reference: the statements in its buildx attestation manifest
(the index entry whose ``vnd.docker.reference.digest`` names it) and in its OCI referrers
with ``artifactType: application/vnd.in-toto+json``. Each statement is checked to be about
that very manifest (its subject digest), so an attestation moved onto another image is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.attest.intoto import MEDIA_TYPE, Statement
from dockyard.attest.storage import ATTESTATION_MANIFEST, REFERENCE_DIGEST, REFERENCE_TYPE
from dockyard.errors import UsageError
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


@dataclass(frozen=True)
class Attestation:
    """One statement and the manifest that carries it (what a signature over attestations signs)."""

    statement: Statement
    carrier: Descriptor  # the attestation manifest (index storage) or the referrer artifact
    storage: str  # "index" or "referrers"


@dataclass(frozen=True)
class AttestedImage:
    """A platform manifest of the reference and the attestations found for it."""

    platform: Platform | None
    manifest: Descriptor
    attestations: tuple[Attestation, ...]


def _statements(client: Client, ref: Reference, carrier: Descriptor, store: ContentStore,
                subject: Descriptor) -> list[Statement]:
    manifest = Manifest.from_bytes(client.fetch_manifest(ref, str(carrier.digest)).data,
                                   media_type=carrier.media_type)
    out = []
    for layer in manifest.layers:
        if layer.media_type != MEDIA_TYPE:
            continue
        client.fetch_blob(ref, layer, store)
        statement = Statement.from_bytes(store.read_bytes(layer.digest))
        if statement.subject_digest != subject.digest:
            raise UsageError(f"{ref.name}@{carrier.digest}: attestation is about {statement.subject_digest}, "
                             f"not {subject.digest}", hint="the attestation does not belong to this image")
        out.append(statement)
    return out


def find(client: Client, ref: Reference, *, store: ContentStore) -> list[AttestedImage]:
    """Every platform image of ``ref`` with its attestations (index storage and referrers)."""
    top = client.fetch_manifest(ref)
    carriers: dict[str, list[Descriptor]] = {}
    images: list[Descriptor] = [top.descriptor]
    if mediatypes.is_index(top.descriptor.media_type):
        index = Index.from_bytes(top.data, media_type=top.descriptor.media_type)
        images = index.image_entries()
        for entry in index.manifests:
            if entry.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
                carriers.setdefault(entry.annotations.get(REFERENCE_DIGEST, ""), []).append(entry)
    out = []
    for image in images:
        found = [Attestation(s, c, "index") for c in carriers.get(str(image.digest), [])
                 for s in _statements(client, ref, c, store, image)]
        for artifact in client.referrers(ref, image.digest, artifact_type=MEDIA_TYPE):
            found += [Attestation(s, artifact, "referrers") for s in _statements(client, ref, artifact, store, image)]
        out.append(AttestedImage(image.platform, image, tuple(found)))
    return out

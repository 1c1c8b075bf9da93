"""OCI 1.1 referrers: artifacts (signatures, SBOMs, provenance) that point at a manifest by ``subject``.

A registry with the referrers API (``GET /v2/REPO/referrers/DIGEST``) indexes them itself
and says so by answering a manifest PUT that has a subject with an ``OCI-Subject`` header. A
registry without it (CNCF Distribution 2.8, the one Debian ships) gets the distribution
spec's fallback, the *referrers tag schema*: an image index tagged ``sha256-HEX`` (the
subject's digest) that lists the referrers; the client reads it, adds the new descriptor,
and puts it back. Readers try the API first and fall back to the tag the same way.
"""

from __future__ import annotations

from dataclasses import replace

from dockyard.digest import Digest
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.registry import manifests
from dockyard.registry.auth import scope_for
from dockyard.registry.errors import NotFoundError
from dockyard.registry.transport import Session

SUBJECT_HEADER = "oci-subject"


def fallback_tag(digest: Digest) -> str:
    """The referrers tag schema's tag: ``<alg>-<ref>``, at most 128 characters."""
    return f"{digest.algorithm}-{digest.hex}"[:128]


def _api(session: Session, repository: str, digest: Digest) -> list[Descriptor] | None:
    """The referrers the API lists, or None when the registry has no referrers API (404)."""
    response = session.request("GET", f"/v2/{repository}/referrers/{digest}", scopes=[scope_for(repository, "pull")],
                               what=f"list referrers of {digest}", headers={"Accept": mediatypes.OCI_INDEX},
                               expect=(200, 404))
    if response.status_code == 404:
        return None
    if not response.headers.get("content-type", "").startswith(mediatypes.OCI_INDEX):
        return None  # a 200 page that is not an index: some proxies do that; treat as no API
    return list(Index.from_bytes(response.content).manifests)


def _tagged(session: Session, repository: str, digest: Digest) -> Index:
    try:
        fetched = manifests.get(session, repository, fallback_tag(digest))
    except NotFoundError:
        return Index()
    return Index.from_bytes(fetched.data, media_type=fetched.descriptor.media_type)


def list_referrers(session: Session, repository: str, digest: Digest,
                   artifact_type: str | None = None) -> list[Descriptor]:
    """Every referrer of ``digest`` (through the API, else the fallback tag), optionally of one type."""
    found = _api(session, repository, digest)
    if found is None:
        found = list(_tagged(session, repository, digest).manifests)
    return [d for d in found if artifact_type is None or d.artifact_type == artifact_type]


def referrer_descriptor(manifest: Manifest) -> Descriptor:
    """A referrer as an index lists it: the manifest's descriptor with its artifactType and annotations."""
    return replace(manifest.descriptor(annotations=manifest.annotations),
                   artifact_type=manifest.artifact_type or manifest.config.media_type)


def put_referrer(session: Session, repository: str, manifest: Manifest) -> bool:
    """PUT a manifest that has a subject (its blobs must be there); True when the registry indexed it
    itself, False when the fallback tag was updated. Call it for one subject at a time."""
    if manifest.subject is None:
        raise ValueError("a referrer needs a subject")
    data = manifest.to_bytes()
    headers = manifests.put_answer(session, repository, str(manifest.descriptor().digest), manifest.media_type, data)
    if headers.get(SUBJECT_HEADER):
        return True
    subject = manifest.subject.digest
    current = _tagged(session, repository, subject)
    entry = referrer_descriptor(manifest)
    if any(d.digest == entry.digest for d in current.manifests):
        return False
    updated = Index(manifests=(*current.manifests, entry))
    manifests.put(session, repository, fallback_tag(subject), updated.media_type, updated.to_bytes())
    return False

"""Manifest and index documents on a registry: fetch (verified), check, and put by digest or tag."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from dockyard.digest import Digest, verify
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.registry import errors
from dockyard.registry.auth import scope_for
from dockyard.registry.transport import Session

ACCEPT = ", ".join(mediatypes.MANIFEST_ACCEPT)


@dataclass(frozen=True)
class Fetched:
    """A manifest or index as the registry served it: its descriptor and exact bytes."""

    descriptor: Descriptor
    data: bytes


def _media_type(content_type: str, data: bytes) -> str:
    declared = canonical.decode_object(data, what="manifest").get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    return content_type.split(";", maxsplit=1)[0].strip() or mediatypes.OCI_MANIFEST


def parsed(data: bytes, *, content_type: str = "") -> Fetched:
    """A document read back from the content store (where it was verified), described as :func:`get` would."""
    return Fetched(Descriptor(_media_type(content_type, data), Digest.of_bytes(data), len(data)), data)


def get(session: Session, repository: str, identifier: str, *, push_scope: bool = False) -> Fetched:
    """GET ``/v2/REPO/manifests/IDENTIFIER``; a digest identifier is verified against the bytes."""
    actions = "pull,push" if push_scope else "pull"
    response = session.request("GET", f"/v2/{repository}/manifests/{identifier}",
                               scopes=[scope_for(repository, actions)], what=f"get manifest {identifier}",
                               headers={"Accept": ACCEPT})
    data = response.content
    digest = Digest.of_bytes(data)
    if identifier.startswith("sha256:"):
        verify(Digest.parse(identifier), digest, what=f"manifest {identifier}")
    media_type = _media_type(response.headers.get("content-type", ""), data)
    return Fetched(Descriptor(media_type, digest, len(data)), data)


def head(session: Session, repository: str, identifier: str, *, push_scope: bool = False) -> Descriptor | None:
    """HEAD a manifest: its descriptor when it exists (from Docker-Content-Digest), else None."""
    actions = "pull,push" if push_scope else "pull"
    response = session.request("HEAD", f"/v2/{repository}/manifests/{identifier}",
                               scopes=[scope_for(repository, actions)], what=f"check manifest {identifier}",
                               headers={"Accept": ACCEPT}, expect=(200, 404))
    if response.status_code == 404:
        return None
    digest_text = response.headers.get("docker-content-digest")
    size = response.headers.get("content-length", "")
    if not digest_text or not size.isdigit():
        return None
    media_type = response.headers.get("content-type", "").split(";", maxsplit=1)[0].strip()
    return Descriptor(media_type, Digest.parse(digest_text), int(size))


def put(session: Session, repository: str, identifier: str, media_type: str, data: bytes) -> Digest:
    """PUT a manifest under a digest or tag; the registry's digest must equal ours."""
    put_answer(session, repository, identifier, media_type, data)
    return Digest.of_bytes(data)


def put_answer(session: Session, repository: str, identifier: str, media_type: str,
               data: bytes) -> httpx.Headers:
    """:func:`put`, returning the registry's answer headers (``OCI-Subject`` tells of a referrers API)."""
    digest = Digest.of_bytes(data)
    response = session.request("PUT", f"/v2/{repository}/manifests/{identifier}",
                               scopes=[scope_for(repository, "pull,push")], what=f"put manifest {identifier}",
                               headers={"Content-Type": media_type}, body=data, expect=(201, 200, 202))
    answered = response.headers.get("docker-content-digest")
    if answered and answered != str(digest):
        raise errors.ManifestInvalidError(f"{session.host} stored manifest {identifier} as {answered}, not {digest}",
                                          registry=session.host, hint="the registry rewrote the manifest")
    return response.headers

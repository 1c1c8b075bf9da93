"""cosign's classic signature layout on a registry: ``REPO:sha256-HEX.sig``.

The tag names an image whose layers are simple signing payloads
(``application/vnd.dev.cosign.simplesigning.v1+json``), each annotated with
``dev.cosignproject.cosign/signature`` = base64 of the ECDSA signature over that payload.
More signatures of the same digest are more layers of that image. Signing writes the payload
blob, then the signature manifest, then moves the tag, so a reader never sees a layer whose
blob is missing.

Why this layout is the default rather than a sigstore bundle stored as an OCI referrer
(:mod:`dockyard.signing.bundle`, ``--format bundle``): cosign verifies it with nothing but the
public key (cosign 3 falls back to it when an image has no bundle), Harbor and other registries
that check cosign signatures read it, and it works on registries without the referrers API
(Distribution 2.8, here); a bundle without a transparency log entry carries nothing more for a
key-based signature. Keyless signing (a Fulcio certificate and a Rekor entry) would add the
certificate and bundle annotations cosign defines to the same layer; nothing here assumes a key.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.digest import Digest
from dockyard.errors import VerificationError
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.errors import NotFoundError
from dockyard.signing import keys, payload
from dockyard.store.content import ContentStore

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"


def signature_tag(digest: Digest) -> str:
    return f"{digest.algorithm}-{digest.hex}.sig"


def _existing(client: Client, ref: Reference, digest: Digest, store: ContentStore) -> Manifest | None:
    try:
        fetched = client.fetch_manifest(ref.with_tag(signature_tag(digest)), fresh=True)
    except NotFoundError:
        return None
    store.ingest_bytes(fetched.data)
    return Manifest.from_bytes(fetched.data, media_type=fetched.descriptor.media_type)


def sign(client: Client, ref: Reference, digests: Iterable[Digest], key: ec.EllipticCurvePrivateKey, *,
         store: ContentStore) -> list[Digest]:
    """Sign each digest in ``ref``'s repository; returns the digests of the signature manifests."""
    made = []
    for digest in digests:
        body = payload.make(ref.name, digest)
        store.ingest_bytes(body)
        layer = Descriptor.of_bytes(payload.MEDIA_TYPE, body, annotations={
            SIGNATURE_ANNOTATION: base64.b64encode(keys.sign(key, body)).decode()})
        previous = _existing(client, ref, digest, store)
        kept = tuple(d for d in (previous.layers if previous else ()) if d != layer)
        for old in kept:
            client.fetch_blob(ref, old, store)
        layers = (*kept, layer)
        config = canonical.encode({"architecture": "", "os": "", "config": {},
                                   "rootfs": {"type": "layers", "diff_ids": [str(d.digest) for d in layers]}})
        store.ingest_bytes(config)
        manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_CONFIG, config), layers=layers)
        store.ingest_bytes(manifest.to_bytes())
        desc = client.push(ref.with_tag(signature_tag(digest)), manifest.descriptor(), store)
        made.append(desc.digest)
    return made


@dataclass(frozen=True)
class Verified:
    """A digest whose signature verified, and the payload's identity (the repository it names)."""

    digest: Digest
    identity: str


def check(client: Client, ref: Reference, digest: Digest, key: ec.EllipticCurvePublicKey, *,
          store: ContentStore) -> Verified | list[str] | None:
    """A signature of ``digest`` that verifies with ``key`` and whose payload names ``digest``; else why
    each signature layer failed; None when ``REPO:sha256-HEX.sig`` does not exist."""
    manifest = _existing(client, ref, digest, store)
    if manifest is None or not manifest.layers:
        return None
    reasons = []
    for layer in manifest.layers:
        encoded = layer.annotations.get(SIGNATURE_ANNOTATION)
        if layer.media_type != payload.MEDIA_TYPE or not encoded:
            continue
        client.fetch_blob(ref, layer, store)
        body = store.read_bytes(layer.digest)
        try:
            signature = base64.b64decode(encoded, validate=True)
        except ValueError:
            reasons.append("undecodable signature")
            continue
        if not keys.verifies(key, body, signature):
            reasons.append("signature does not verify with this key")
            continue
        identity, signed = payload.signed_digest(body)
        if signed != digest:
            reasons.append(f"signed payload is about {signed}")
            continue
        return Verified(digest, identity)
    return reasons or ["no signature layers"]


def failed(ref: Reference, digest: Digest, reasons: list[str], *, what: str) -> VerificationError:
    """The error for signatures that exist and all failed (``reasons``)."""
    why = "; ".join(sorted(set(reasons)))
    return VerificationError(f"{what} {ref.name}@{digest}: no valid signature ({why})",
                             hint="the image or its signature was altered, or it was signed with another key")


def missing(ref: Reference, digest: Digest, *, what: str) -> VerificationError:
    """The error for a digest with no signature in either format (no ``.sig`` tag, no bundle referrer)."""
    return VerificationError(f"{what} {ref.name}@{digest}: no signature ({ref.name}:{signature_tag(digest)} "
                             "does not exist, nor a sigstore bundle referrer)",
                             hint="sign it: dockyard sign REF --key cosign.key")

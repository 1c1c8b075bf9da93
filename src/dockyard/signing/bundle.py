"""Sigstore bundles (``application/vnd.dev.sigstore.bundle.v0.3+json``) stored as OCI 1.1 referrers.

This is what ``cosign sign --new-bundle-format`` writes for an image (cosign
cmd/cosign/cli/sign/sign.go ``signDigestBundle``, pkg/oci/remote/write.go
``WriteAttestationNewBundleFormat``, specs/BUNDLE_SPEC.md): an in-toto statement whose subject
is the signed manifest's digest and whose predicate type is ``https://sigstore.dev/cosign/sign/v1``
(empty predicate), in a DSSE envelope signed with ECDSA P-256 over DSSE's pre-authentication
encoding; the bundle's verification material is the public key's hint (base64 of SHA-256 of the
key's SubjectPublicKeyInfo DER, as cosign's key pair gives it). cosign verifies image bundles as
attestations and refuses one that is not a DSSE envelope, so that is the content written here,
not a ``messageSignature``. The bundle is the one layer of an artifact manifest
(``artifactType`` = the bundle media type, empty config, ``subject`` = the signed manifest),
pushed through the registry's referrers API or, without one, the referrers tag schema
(:mod:`dockyard.registry.referrers`). Keyless signing would put a certificate and transparency
log entries in ``verificationMaterial``; nothing here assumes a key file is the only signer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.digest import Digest
from dockyard.errors import UsageError
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.errors import NotFoundError
from dockyard.signing import keys
from dockyard.store.content import ContentStore

MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"  # cosign pkg/types CosignSignPredicateType
CONTENT_ANNOTATION = "dev.sigstore.bundle.content"
PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
EMPTY = b"{}"


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE's pre-authentication encoding: the bytes a DSSE signature is made over."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def key_hint(key: ec.EllipticCurvePublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def statement(digest: Digest) -> bytes:
    doc = {"_type": STATEMENT_TYPE, "subject": [{"digest": {digest.algorithm: digest.hex}}],
           "predicateType": SIGN_PREDICATE, "predicate": {}}
    return json.dumps(doc, separators=(",", ":")).encode()


def make(digest: Digest, key: ec.EllipticCurvePrivateKey) -> bytes:
    """The bundle JSON signing ``digest`` with ``key``."""
    body = statement(digest)
    signature = base64.b64encode(keys.sign(key, pae(PAYLOAD_TYPE, body))).decode()
    doc = {"mediaType": MEDIA_TYPE,
           "verificationMaterial": {"publicKey": {"hint": key_hint(key.public_key())}},
           "dsseEnvelope": {"payload": base64.b64encode(body).decode(), "payloadType": PAYLOAD_TYPE,
                            "signatures": [{"sig": signature}]}}
    return json.dumps(doc, separators=(",", ":")).encode()


def artifact(store: ContentStore, subject: Descriptor, key: ec.EllipticCurvePrivateKey) -> Manifest:
    """Store a bundle for ``subject`` and the referrer manifest carrying it."""
    data = make(subject.digest, key)
    store.ingest_bytes(data)
    store.ingest_bytes(EMPTY)
    blob = Descriptor.of_bytes(MEDIA_TYPE, data)
    layer = blob.with_annotations({"org.opencontainers.image.title": f"sha256-{blob.digest.hex}.sigstore.json"})
    manifest = Manifest(config=Descriptor.of_bytes(mediatypes.OCI_EMPTY, EMPTY), layers=(layer,),
                        subject=Descriptor(subject.media_type, subject.digest, subject.size), artifact_type=MEDIA_TYPE,
                        annotations={CONTENT_ANNOTATION: "dsse-envelope", PREDICATE_ANNOTATION: SIGN_PREDICATE,
                                     "org.opencontainers.image.created":
                                         datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    store.ingest_bytes(manifest.to_bytes())
    return manifest


def sign(client: Client, ref: Reference, subjects: Iterable[Descriptor], key: ec.EllipticCurvePrivateKey, *,
         store: ContentStore) -> list[Digest]:
    """Push a bundle referrer for each subject in ``ref``'s repository; returns the referrers' digests."""
    made = []
    for subject in subjects:
        manifest = artifact(store, subject, key)
        client.push_referrer(ref, manifest, store)
        made.append(manifest.descriptor().digest)
    return made


def _signed_subject(data: bytes, key: ec.EllipticCurvePublicKey) -> Digest:
    """The digest a bundle's statement names, once its DSSE signature verifies; raises ValueError."""
    doc: Any = json.loads(data)
    if doc.get("mediaType") != MEDIA_TYPE:
        raise ValueError(f"bundle media type {doc.get('mediaType')!r}")
    envelope = doc.get("dsseEnvelope")
    if not isinstance(envelope, dict) or envelope.get("payloadType") != PAYLOAD_TYPE:
        raise ValueError("not a DSSE envelope of an in-toto statement")
    body = base64.b64decode(envelope["payload"], validate=True)
    if not any(keys.verifies(key, pae(PAYLOAD_TYPE, body), base64.b64decode(s["sig"], validate=True))
               for s in envelope["signatures"]):
        raise ValueError("signature does not verify with this key")
    told = json.loads(body)
    if told.get("_type") != STATEMENT_TYPE or told.get("predicateType") != SIGN_PREDICATE:
        raise ValueError(f"statement is not a cosign signature ({told.get('predicateType')!r})")
    subjects = told["subject"]
    if len(subjects) != 1 or len(subjects[0]["digest"]) != 1:
        raise ValueError("statement must name exactly one digest")
    ((algorithm, hexdigest),) = subjects[0]["digest"].items()
    return Digest.parse(f"{algorithm}:{hexdigest}")


def check(client: Client, ref: Reference, digest: Digest, key: ec.EllipticCurvePublicKey, *,
          store: ContentStore) -> bool | list[str]:
    """True when a bundle referrer of ``digest`` verifies with ``key`` and names ``digest``; else
    why each bundle found failed (an empty list: there is none)."""
    reasons = []
    for entry in client.referrers(ref, digest, artifact_type=MEDIA_TYPE):
        try:
            fetched = client.fetch_manifest(ref.with_digest(entry.digest), fresh=True)
        except NotFoundError:
            reasons.append(f"bundle referrer {entry.digest} is listed but missing")
            continue
        manifest = Manifest.from_bytes(fetched.data, media_type=fetched.descriptor.media_type)
        layers = [layer for layer in manifest.layers if layer.media_type == MEDIA_TYPE]
        if manifest.subject is None or manifest.subject.digest != digest or len(layers) != 1:
            reasons.append(f"bundle referrer {entry.digest} is not about {digest}")
            continue
        client.fetch_blob(ref, layers[0], store)
        try:
            signed = _signed_subject(store.read_bytes(layers[0].digest), key)
        except (ValueError, KeyError, TypeError, AttributeError, UsageError) as exc:
            reasons.append(f"bundle {layers[0].digest}: {exc}")
            continue
        if signed != digest:
            reasons.append(f"signed bundle is about {signed}")
            continue
        return True
    return reasons

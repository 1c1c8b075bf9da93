"""Signing and verifying a whole image: the reference's top document, every platform manifest,
and every attestation carrier (attestation manifest or referrer artifact).

Signing the carriers is what makes attestations verifiable: a carrier's manifest names its
statement blobs by digest, so its signature covers the SBOM and the provenance; and each
statement is checked to be about the platform manifest it is attached to
(:mod:`dockyard.attest.found`). ``verify`` fails, naming what, when anything is unsigned,
signed by another key, altered, or when an asked-for attestation type is missing on a platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.attest import found
from dockyard.attest.intoto import CYCLONEDX_PREDICATE, SLSA_PREDICATE, SPDX_PREDICATE
from dockyard.digest import Digest
from dockyard.errors import UsageError, VerificationError
from dockyard.oci.descriptor import Descriptor
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.signing import bundle, cosign
from dockyard.signing.request import CLASSIC
from dockyard.store.content import ContentStore

# cosign's --type names (verify-attestation) and the in-toto predicate types they stand for
PREDICATE_TYPES = {"provenance": SLSA_PREDICATE, "slsaprovenance": SLSA_PREDICATE, "slsaprovenance1": SLSA_PREDICATE,
                   "sbom": SPDX_PREDICATE, "spdx": SPDX_PREDICATE, "spdxjson": SPDX_PREDICATE,
                   "cyclonedx": CYCLONEDX_PREDICATE}


def predicate_type(name: str) -> str:
    """``provenance``/``sbom`` (and cosign's names) or a predicate type URI."""
    if name in PREDICATE_TYPES:
        return PREDICATE_TYPES[name]
    if "://" in name:
        return name
    raise UsageError(f"unknown attestation type {name!r}",
                     hint="use provenance, sbom, cyclonedx, or a predicate type URI such as " + SLSA_PREDICATE)


def _resolved(client: Client, ref: Reference, store: ContentStore) -> tuple[Reference, Descriptor,
                                                                          list[found.AttestedImage]]:
    top = client.resolve(ref)
    pinned = ref.with_digest(top.digest)
    return pinned, top, found.find(client, pinned, store=store)


def sign_image(client: Client, ref: Reference, key: ec.EllipticCurvePrivateKey, *, store: ContentStore,
               form: str = CLASSIC) -> list[Digest]:
    """Sign everything ``ref`` names (see the module docstring) in ``form`` (``classic``: cosign's
    ``.sig`` tag, ``bundle``: a sigstore bundle referrer); returns the signed digests."""
    pinned, top, images = _resolved(client, ref, store)
    subjects = {top.digest: top}
    for image in images:
        for desc in (image.manifest, *(a.carrier for a in image.attestations)):
            subjects.setdefault(desc.digest, desc)
    if form == CLASSIC:
        cosign.sign(client, pinned, list(subjects), key, store=store)
    else:
        bundle.sign(client, pinned, subjects.values(), key, store=store)
    return list(subjects)


def verify_signature(client: Client, ref: Reference, digest: Digest, key: ec.EllipticCurvePublicKey, *,
                     store: ContentStore, what: str) -> None:
    """Some signature of ``digest`` in either format (a ``.sig`` tag or a bundle referrer) verifies with
    ``key`` and names ``digest``; raise naming every failure otherwise."""
    classic = cosign.check(client, ref, digest, key, store=store)
    if isinstance(classic, cosign.Verified):
        return
    bundled = bundle.check(client, ref, digest, key, store=store)
    if bundled is True:
        return
    reasons = [*(classic or ()), *(bundled or ())]
    if not reasons:
        raise cosign.missing(ref, digest, what=what)
    raise cosign.failed(ref, digest, reasons, what=what)


@dataclass(frozen=True)
class Checked:
    """One verified item, for the report: what it is, and its digest."""

    what: str
    digest: Digest


def verify_image(client: Client, ref: Reference, key: ec.EllipticCurvePublicKey, *, store: ContentStore,
                 attestation_types: Sequence[str] = ()) -> list[Checked]:
    """Verify ``ref``'s signatures (and, per platform, the asked-for attestations); raise on the first
    failure with :class:`~dockyard.signing.VerificationError`."""
    wanted = [predicate_type(t) for t in attestation_types]
    pinned, top, images = _resolved(client, ref, store)
    checked = [Checked("image" if len(images) == 1 and images[0].manifest.digest == top.digest else "index",
                       top.digest)]
    verify_signature(client, pinned, top.digest, key, store=store, what=checked[0].what)
    for image in images:
        label = str(image.platform) if image.platform else "image"
        if image.manifest.digest != top.digest:
            verify_signature(client, pinned, image.manifest.digest, key, store=store, what=label)
            checked.append(Checked(label, image.manifest.digest))
        for kind in wanted:
            carriers = [a.carrier for a in image.attestations if a.statement.predicate_type == kind]
            if not carriers:
                raise VerificationError(f"{label} {pinned.name}@{image.manifest.digest}: no {kind} attestation",
                                               hint="build with --attest type=provenance / --sbom=true")
            for carrier in dict.fromkeys(carriers):
                verify_signature(client, pinned, carrier.digest, key, store=store, what=f"{label} {kind}")
                checked.append(Checked(f"{label} attestation {kind}", carrier.digest))
    return checked

"""``dockyard.sign``, ``dockyard.verify`` and ``dockyard.generate_key_pair``: cosign-format
signatures for images already in a registry, as ``dockyard sign/verify/generate-key-pair``.

The key's password is an argument or ``COSIGN_PASSWORD`` (as cosign reads it): the library
never prompts. ``cryptography`` loads only inside these calls (:mod:`dockyard.signing`), so
``import dockyard`` and a build that does not sign stay free of it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import arguments
from dockyard.errors import ArgumentError

if TYPE_CHECKING:
    from dockyard.registry.client import Client


@dataclass(frozen=True)
class Signed:
    """What :func:`dockyard.sign` signed: ``name`` (the repository) and every ``digests`` (the
    reference's index or manifest first, then each platform manifest and attestation)."""

    name: str
    digests: tuple[str, ...]


@dataclass(frozen=True)
class Verified:
    """What :func:`dockyard.verify` checked: ``name`` and ``(what, digest)`` pairs, ``what`` being
    ``"index"``, ``"image"``, a platform (``"linux/arm64"``) or ``"linux/arm64 attestation ..."``."""

    name: str
    checked: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class KeyPairFiles:
    """The files :func:`dockyard.generate_key_pair` wrote: ``private_key`` (encrypted, mode 0600) and ``public_key``."""

    private_key: Path
    public_key: Path


def _password(value: object) -> bytes | None:
    """``password`` (str or bytes), else ``COSIGN_PASSWORD``, else None."""
    from dockyard.signing.keys import environment_password

    if value is None:
        return environment_password()
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    raise ArgumentError(f"password must be a string or bytes, not {type(value).__name__}",
                        hint="or set COSIGN_PASSWORD")


def _client(insecure: object, registry_ca: object) -> Client:
    from dockyard.registry.client import Client
    from dockyard.registry.hosts import HostsConfig

    hosts = HostsConfig.load(insecure=frozenset(arguments.strings("insecure", insecure)))
    return Client(hosts=hosts.with_ca(arguments.files_by_host("registry_ca", registry_ca)))


def _ref(value: object) -> str:
    text = arguments.text("ref", value, optional=False)
    assert text is not None
    return text


def sign(ref: str, *, key: str | os.PathLike[str], format: str = "classic",
         password: str | bytes | None = None, insecure: str | Sequence[str] = (),
         registry_ca: arguments.CaFiles | None = None,
         ) -> Signed:
    """Sign what ``ref`` names in a registry: its index (or manifest), every platform manifest and
    every attestation, as ``dockyard sign REF --key KEY`` does.

    ``key`` is cosign's encrypted ``cosign.key`` (its ``password`` given, else ``COSIGN_PASSWORD``)
    or a plain PEM ECDSA P-256 key. ``format`` is ``"classic"`` (cosign's ``REPO:sha256-HEX.sig``
    tag, which cosign and Harbor verify with the public key alone) or ``"bundle"`` (a sigstore
    bundle stored as an OCI 1.1 referrer). ``insecure`` lists registries reached over plain HTTP or
    unverified TLS; ``registry_ca`` adds CA files per registry host (``--registry-ca``).

    Returns :class:`Signed`. A key that cannot be used raises
    :class:`~dockyard.errors.SigningKeyError` before any request; a registry refusal a
    :class:`~dockyard.errors.RegistryError`.
    """
    from dockyard.reference import Reference
    from dockyard.signing.image import sign_image
    from dockyard.signing.keys import load_private
    from dockyard.signing.request import FORMATS
    from dockyard.store.content import ContentStore

    name = _ref(ref)
    form = arguments.text("format", format, optional=False)
    if form not in FORMATS:
        raise ArgumentError(f"format must be one of {', '.join(FORMATS)}, not {form!r}", hint='e.g. format="bundle"')
    key_file = arguments.path("key", key)
    assert key_file is not None
    private = load_private(key_file, _password(password))
    reference = Reference.parse(name)
    with _client(insecure, registry_ca) as client:
        digests = sign_image(client, reference, private, store=ContentStore.default(), form=form)
    return Signed(name=reference.name, digests=tuple(str(d) for d in digests))


def verify(ref: str, *, key: str | os.PathLike[str], attestation_type: str | Sequence[str] = (),
           insecure: str | Sequence[str] = (),
           registry_ca: arguments.CaFiles | None = None,
           ) -> Verified:
    """Verify the signatures of what ``ref`` names, with the public ``key`` (``cosign.pub``), as
    ``dockyard verify REF --key KEY [--attestation-type T]``.

    The index (or manifest) and every platform manifest must carry a signature (either format)
    that verifies with ``key`` and names that digest. ``attestation_type`` (``"provenance"``,
    ``"sbom"``, cosign's names or a predicate type URI; one or a list) also requires that
    attestation on every platform, signed. ``insecure`` and ``registry_ca`` as for :func:`sign`.

    Returns :class:`Verified`; anything missing, unsigned, signed by another key or altered raises
    :class:`~dockyard.errors.VerificationError` naming it (an unknown attestation type is an
    :class:`~dockyard.errors.ArgumentError`, before any request).
    """
    from dockyard.errors import UsageError
    from dockyard.reference import Reference
    from dockyard.signing.image import predicate_type, verify_image
    from dockyard.signing.keys import load_public
    from dockyard.store.content import ContentStore

    name = _ref(ref)
    types = arguments.strings("attestation_type", attestation_type)
    for kind in types:
        try:
            predicate_type(kind)
        except UsageError as exc:
            raise ArgumentError(exc.message, hint=exc.hint) from None
    key_file = arguments.path("key", key)
    assert key_file is not None
    public = load_public(key_file)
    reference = Reference.parse(name)
    with _client(insecure, registry_ca) as client:
        items = verify_image(client, reference, public, store=ContentStore.default(), attestation_types=types)
    return Verified(name=reference.name, checked=tuple((item.what, str(item.digest)) for item in items))


def generate_key_pair(*, output_key_prefix: str | os.PathLike[str] = "cosign",
                      password: str | bytes | None = None) -> KeyPairFiles:
    """Write an ECDSA P-256 key pair in cosign's formats, as ``dockyard generate-key-pair``:
    ``PREFIX.key`` (encrypted with ``password``, else ``COSIGN_PASSWORD``; empty is allowed, as
    cosign allows it) and ``PREFIX.pub``. Existing files are never overwritten (a
    :class:`~dockyard.errors.UsageError`); no password at all is an :class:`~dockyard.errors.ArgumentError`.
    """
    from dockyard.signing.keys import PASSWORD_ENV, write_pair

    prefix = arguments.path("output_key_prefix", output_key_prefix)
    assert prefix is not None
    secret = _password(password)
    if secret is None:
        raise ArgumentError("no password for the private key", hint=f"pass password= or set {PASSWORD_ENV} "
                            "(it may be empty)")
    private, public = write_pair(prefix, secret)
    return KeyPairFiles(private_key=private, public_key=public)

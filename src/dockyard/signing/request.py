"""``build --sign key=PATH[,format=classic|bundle]`` and ``sign --format``: which key, which signature format.

``classic`` (the default) is cosign's ``REPO:sha256-HEX.sig`` tag (:mod:`dockyard.signing.cosign`);
``bundle`` is a sigstore bundle stored as an OCI 1.1 referrer (:mod:`dockyard.signing.bundle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.errors import UsageError
from dockyard.signing.keys import load_private

CLASSIC, BUNDLE = "classic", "bundle"
FORMATS = (CLASSIC, BUNDLE)


@dataclass(frozen=True)
class Signing:
    """What ``--sign`` asked for: the loaded key and the signature format."""

    key: ec.EllipticCurvePrivateKey
    form: str = CLASSIC


def parse(spec: str, *, password: bytes | None) -> Signing:
    """The signing key of ``key=PATH[,format=F]`` (loaded, and so checked, before anything is built)."""
    fields = dict(part.partition("=")[::2] for part in spec.split(","))
    unknown = sorted(set(fields) - {"key", "format"})
    form = fields.get("format", CLASSIC)
    if unknown or not fields.get("key") or form not in FORMATS:
        raise UsageError(f"invalid --sign {spec!r}",
                         hint="use --sign key=cosign.key[,format=classic|bundle] (COSIGN_PASSWORD for its password)")
    return Signing(load_private(Path(fields["key"]), password), form)

"""``build --sign key=PATH``: sign what the build pushed, as ``dockyard sign`` would, right after the push."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from dockyard.errors import UsageError
from dockyard.sign.keys import load_private


def parse(spec: str, *, password: bytes | None) -> ec.EllipticCurvePrivateKey:
    """The signing key of ``key=PATH`` (loaded, and so checked, before anything is built)."""
    fields = dict(part.partition("=")[::2] for part in spec.split(","))
    unknown = sorted(set(fields) - {"key"})
    if unknown or not fields.get("key"):
        raise UsageError(f"invalid --sign {spec!r}",
                         hint="use --sign key=cosign.key (COSIGN_PASSWORD for its password)")
    return load_private(Path(fields["key"]), password)

"""The simple signing payload cosign signs: which manifest digest, under which repository name.

``{"critical": {"identity": {"docker-reference": REPO}, "image": {"docker-manifest-digest":
DIGEST}, "type": "cosign container image signature"}, "optional": ANNOTATIONS}``, the
containers/image "simple signing" format as cosign writes it (pkg/cosign payload). Verifying
a signature means verifying the bytes, then reading the digest from those same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from dockyard.digest import Digest
from dockyard.errors import UsageError

MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
TYPE = "cosign container image signature"


def make(repository: str, digest: Digest, annotations: Mapping[str, str] | None = None) -> bytes:
    doc = {"critical": {"identity": {"docker-reference": repository},
                        "image": {"docker-manifest-digest": str(digest)}, "type": TYPE},
           "optional": dict(annotations) if annotations else None}
    return json.dumps(doc, separators=(",", ":")).encode()


def signed_digest(data: bytes) -> tuple[str, Digest]:
    """(docker-reference, docker-manifest-digest) of a payload; raises on anything else."""
    try:
        critical = json.loads(data)["critical"]
        if critical["type"] != TYPE:
            raise ValueError(critical["type"])
        return str(critical["identity"]["docker-reference"]), \
            Digest.parse(critical["image"]["docker-manifest-digest"])
    except (ValueError, KeyError, TypeError, UsageError):
        raise UsageError("not a cosign simple signing payload") from None

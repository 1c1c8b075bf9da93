"""in-toto v1 statements: a subject (what the claim is about) plus a typed predicate.

One statement per platform image: the subject is that platform's manifest digest, named as
BuildKit names it (``pkg:docker/REPO@TAG?platform=linux%2Famd64``), so readers written for
buildx attestations match ours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.attest.packages import image_purl
from dockyard.digest import Digest
from dockyard.errors import UsageError
from dockyard.platform import Platform
from dockyard.reference import Reference

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
MEDIA_TYPE = "application/vnd.in-toto+json"
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
SPDX_PREDICATE = "https://spdx.dev/Document"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"  # the in-toto attestation predicate list's, and cosign's
SLSA_PREDICATE = "https://slsa.dev/provenance/v1"


def subject_name(ref: Reference | None, platform: Platform) -> str:
    """BuildKit's subject name for an image of ``ref`` (``_`` when the image has no name)."""
    return "_" if ref is None else image_purl(ref, platform)


@dataclass(frozen=True, kw_only=True)
class Statement:
    """A statement about one digest; ``to_bytes()`` is the attestation blob."""

    subject_name: str
    subject_digest: Digest
    predicate_type: str
    predicate: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"_type": STATEMENT_TYPE,
                "subject": [{"name": self.subject_name,
                             "digest": {self.subject_digest.algorithm: self.subject_digest.hex}}],
                "predicateType": self.predicate_type, "predicate": dict(self.predicate)}

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), indent=2, sort_keys=False).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Statement:
        try:
            doc = json.loads(data)
            subject = doc["subject"][0]
            algorithm, hexdigest = next(iter(subject["digest"].items()))
            if doc.get("_type") != STATEMENT_TYPE:
                raise ValueError(doc.get("_type"))
            return cls(subject_name=str(subject.get("name", "")), subject_digest=Digest(algorithm, hexdigest),
                       predicate_type=str(doc["predicateType"]), predicate=dict(doc["predicate"]))
        except (ValueError, KeyError, TypeError, IndexError, StopIteration, AttributeError) as exc:
            raise UsageError(f"not an in-toto v1 statement ({type(exc).__name__}: {exc})") from None

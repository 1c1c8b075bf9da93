"""Image manifests: one platform's config and ordered layers, as canonical JSON bytes.

The same shape serves OCI manifests and Docker schema2 manifests; ``media_type`` says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor


@dataclass(frozen=True)
class Manifest:
    """An image manifest; ``to_bytes()`` is what gets stored, pushed and digested."""

    config: Descriptor
    layers: tuple[Descriptor, ...] = ()
    media_type: str = mediatypes.OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out["config"] = self.config.to_json()
        out["layers"] = [layer.to_json() for layer in self.layers]
        if self.subject is not None:
            out["subject"] = self.subject.to_json()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return canonical.encode(self.to_json())

    def descriptor(self, **kwargs: Any) -> Descriptor:
        """This manifest's descriptor (``platform=``/``annotations=`` for an index entry)."""
        return Descriptor.of_bytes(self.media_type, self.to_bytes(), **kwargs)

    @classmethod
    def from_bytes(cls, data: bytes, *, media_type: str | None = None) -> Manifest:
        """Parse a manifest; ``media_type`` (from the registry's Content-Type) fills a missing field."""
        what = "image manifest"
        doc = canonical.decode_object(data, what=what)
        mt = canonical.document_type(doc, what=what, allowed=mediatypes.MANIFEST_TYPES, fallback=media_type)
        layers = canonical.field(doc, "layers", list, what=what, required=False) or []
        subject = canonical.field(doc, "subject", dict, what=what, required=False)
        return cls(
            config=Descriptor.from_json(canonical.field(doc, "config", dict, what=what), what=f"{what} config"),
            layers=tuple(Descriptor.from_json(d, what=f"{what} layer") for d in layers),
            media_type=mt,
            annotations=canonical.field(doc, "annotations", dict, what=what, required=False) or {},
            subject=Descriptor.from_json(subject, what=f"{what} subject") if subject else None,
            artifact_type=canonical.field(doc, "artifactType", str, what=what, required=False),
        )

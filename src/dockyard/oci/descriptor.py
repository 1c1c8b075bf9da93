"""Descriptors: the typed, sized, digested pointers that tie manifests, configs and layers together.

A descriptor is all a registry or store needs to move a blob (digest and size) plus what a
reader needs to interpret it (media type, platform for index entries, annotations).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import UsageError
from dockyard.oci import canonical
from dockyard.platform import Platform

REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor (also Docker schema2's, which has the same shape)."""

    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None

    @classmethod
    def of_bytes(cls, media_type: str, data: bytes, *, platform: Platform | None = None,
                 annotations: Mapping[str, str] | None = None) -> Descriptor:
        """The descriptor of an in-memory document (a manifest, index or config)."""
        return cls(media_type, Digest.of_bytes(data), len(data), platform, dict(annotations or {}))

    def with_platform(self, platform: Platform | None) -> Descriptor:
        return replace(self, platform=platform)

    def with_annotations(self, annotations: Mapping[str, str]) -> Descriptor:
        return replace(self, annotations=dict(annotations))

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in the spec's order; empty optional fields are left out."""
        out: dict[str, Any] = {"mediaType": self.media_type}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out["digest"] = str(self.digest)
        out["size"] = self.size
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_oci()
        return out

    @classmethod
    def from_json(cls, doc: Any, *, what: str = "descriptor") -> Descriptor:
        """Read a descriptor; platforms are kept as written (``unknown/unknown`` for attestations)."""
        if not isinstance(doc, dict):
            raise canonical.InvalidDocumentError(f"{what} is not a JSON object")
        media_type = canonical.field(doc, "mediaType", str, what=what)
        try:
            digest = Digest.parse(canonical.field(doc, "digest", str, what=what))
        except UsageError as exc:
            raise canonical.InvalidDocumentError(f"{what}: {exc.message}") from None
        size = canonical.field(doc, "size", int, what=what)
        if size < 0:
            raise canonical.InvalidDocumentError(f"{what}: negative size")
        plat_doc = canonical.field(doc, "platform", dict, what=what, required=False)
        platform = None
        if plat_doc is not None:
            platform = Platform(str(plat_doc.get("os", "")), str(plat_doc.get("architecture", "")),
                                str(plat_doc.get("variant", "") or ""))
        annotations = canonical.field(doc, "annotations", dict, what=what, required=False) or {}
        urls = canonical.field(doc, "urls", list, what=what, required=False) or []
        return cls(media_type, digest, size, platform, {str(k): str(v) for k, v in annotations.items()},
                   tuple(str(u) for u in urls), canonical.field(doc, "artifactType", str, what=what,
                                                                required=False))

    @property
    def ref_name(self) -> str | None:
        """The ``org.opencontainers.image.ref.name`` annotation (a tag in an OCI layout)."""
        return self.annotations.get(REF_NAME)

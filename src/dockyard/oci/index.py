"""Image indexes (and Docker manifest lists): one image for several platforms.

Selecting the manifest for a platform lives here because pull, build (FROM) and
``imagetools create --platform`` must all pick the same entry for the same request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import UsageError
from dockyard.oci import canonical, mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform


@dataclass(frozen=True)
class Index:
    """An image index; ``to_bytes()`` is what gets stored, pushed and digested."""

    manifests: tuple[Descriptor, ...] = ()
    media_type: str = mediatypes.OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                               "manifests": [m.to_json() for m in self.manifests]}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        return canonical.encode(self.to_json())

    def descriptor(self, **kwargs: Any) -> Descriptor:
        return Descriptor.of_bytes(self.media_type, self.to_bytes(), **kwargs)

    @classmethod
    def from_bytes(cls, data: bytes, *, media_type: str | None = None) -> Index:
        what = "image index"
        doc = canonical.decode_object(data, what=what)
        mt = canonical.document_type(doc, what=what, allowed=mediatypes.INDEX_TYPES,
                                     fallback=media_type or mediatypes.OCI_INDEX)
        entries = canonical.field(doc, "manifests", list, what=what)
        return cls(
            manifests=tuple(Descriptor.from_json(d, what=f"{what} entry") for d in entries),
            media_type=mt,
            annotations=canonical.field(doc, "annotations", dict, what=what, required=False) or {},
        )

    def platforms(self) -> list[Platform]:
        """Platforms of the image entries, skipping attestation manifests (``unknown/unknown``)."""
        return [m.platform for m in self.image_entries() if m.platform is not None]

    def image_entries(self) -> list[Descriptor]:
        """Entries that are runnable images: not attestations, not nested artifacts."""
        return [m for m in self.manifests
                if not (m.platform is not None and m.platform.os == "unknown")
                and m.annotations.get("vnd.docker.reference.type") != "attestation-manifest"]

    def select(self, want: Platform) -> Descriptor:
        """The entry for ``want``: an exact variant match first, then one without a variant."""
        candidates = [m for m in self.image_entries() if m.platform is not None and want.matches(m.platform)]
        exact = [m for m in candidates if m.platform is not None and want.same(m.platform)]
        if exact or candidates:
            return (exact or candidates)[0]
        have = ", ".join(str(p) for p in self.platforms()) or "none"
        raise UsageError(f"no image for platform {want} in the index (it has: {have})",
                         hint="choose one of the listed platforms with --platform")

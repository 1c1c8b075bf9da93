"""What a reference names, shown like ``docker buildx imagetools inspect`` (text or JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dockyard.attest.found import Attestation, AttestedImage, find
from dockyard.attest.intoto import CYCLONEDX_PREDICATE, SLSA_PREDICATE, SPDX_PREDICATE
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


@dataclass(frozen=True)
class Inspection:
    """The top document and, with details, each platform's manifest and config."""

    reference: Reference
    descriptor: Descriptor
    raw: bytes
    entries: tuple[Descriptor, ...]
    images: tuple[PlatformImage, ...] = ()  # with details: each platform's image (manifest and config)
    attested: tuple[AttestedImage, ...] = ()  # with details: attestations per platform (index or referrers)


def inspect(client: Client, ref: Reference, *, store: ContentStore, details: bool = False) -> Inspection:
    """Fetch ``ref``'s document; with ``details`` also each platform's config (for JSON output)."""
    top = client.fetch_manifest(ref)
    entries: tuple[Descriptor, ...] = ()
    manifests: list[tuple[Descriptor, bytes]] = []
    if mediatypes.is_index(top.descriptor.media_type):
        entries = Index.from_bytes(top.data, media_type=top.descriptor.media_type).manifests
        if details:
            manifests = [(e, client.fetch_manifest(ref, str(e.digest)).data) for e in entries
                         if mediatypes.is_manifest(e.media_type)]
    elif details:
        manifests = [(top.descriptor, top.data)]
    index = top.descriptor if entries else None
    images = []
    for desc, data in manifests:
        manifest = Manifest.from_bytes(data, media_type=desc.media_type)
        if manifest.config.media_type not in mediatypes.CONFIG_TYPES:
            continue  # attestations and other artifacts have no image config
        client.fetch_blob(ref, manifest.config, store)
        config = ImageConfig.from_bytes(store.read_bytes(manifest.config.digest))
        images.append(PlatformImage.of(desc, manifest, config, index=index))
    attested = tuple(find(client, ref.with_digest(top.descriptor.digest), store=store)) if details else ()
    return Inspection(ref, top.descriptor, top.data, entries, tuple(images), attested)


def render_text(ins: Inspection) -> str:
    """Name, MediaType, Digest, then one block per index entry."""
    lines = [f"Name:      {ins.reference}", f"MediaType: {ins.descriptor.media_type}",
             f"Digest:    {ins.descriptor.digest}"]
    if ins.entries:
        lines += ["", "Manifests:"]
        for i, entry in enumerate(ins.entries):
            if i:
                lines.append("")
            lines += [f"  Name:        {ins.reference.name}@{entry.digest}",
                      f"  MediaType:   {entry.media_type}"]
            if entry.platform is not None:
                lines.append(f"  Platform:    {entry.platform}")
            for key, value in sorted(entry.annotations.items()):
                lines.append(f"  Annotation:  {key}={value}")
    return "\n".join(lines)


_SHOWN = {SLSA_PREDICATE: ("provenance", "SLSA"), SPDX_PREDICATE: ("sbom", "SPDX"),
          CYCLONEDX_PREDICATE: ("sbom", "CycloneDX")}


def _attestations(ins: Inspection) -> dict[str, Any]:
    """buildx's ``.Provenance`` and ``.SBOM``: ``{"linux/amd64": {"SLSA": predicate}}`` for an index,
    ``{"SLSA": predicate}`` for a single image. As buildx's loader (util/imagetools/loader.go), the first
    SPDX document is ``SPDX`` and the others (scanned stages, the context) are ``AdditionalSPDXs``;
    referrers come in no set order, so a document named as BuildKit names extra scans (``sbom-NAME``)
    is never taken for the image's own. A CycloneDX SBOM (``format=cyclonedx``, which buildx does not
    know) is shown the same way under ``CycloneDX`` and ``AdditionalCycloneDXs``."""
    out: dict[str, Any] = {}
    for image in ins.attested:
        for attestation in sorted(image.attestations, key=_extra_scan):
            shown = _SHOWN.get(attestation.statement.predicate_type)
            if shown is None:
                continue
            field, kind = shown
            holder = out.setdefault(field, {}).setdefault(str(image.platform), {}) if ins.entries \
                else out.setdefault(field, {})
            predicate = dict(attestation.statement.predicate)
            if kind in holder and field == "sbom":
                holder.setdefault(f"Additional{kind}s", []).append(predicate)
            else:
                holder[kind] = predicate
    return out


def _extra_scan(attestation: Attestation) -> bool:
    statement = attestation.statement
    if statement.predicate_type == CYCLONEDX_PREDICATE:
        metadata = statement.predicate.get("metadata")
        component = metadata.get("component") if isinstance(metadata, dict) else None
        return isinstance(component, dict) and str(component.get("name", "")).startswith("sbom-")
    return statement.predicate_type == SPDX_PREDICATE and str(statement.predicate.get("name", "")).startswith("sbom-")


def render_json(ins: Inspection) -> str:
    """``{"name", "digest", "mediaType", "manifest", "image"}``; ``image`` maps platforms to configs
    for an index, or is the config of a single image; ``provenance`` and ``sbom`` likewise hold
    the predicates of the attestations found (in the index or as referrers)."""
    doc: dict[str, Any] = {"name": str(ins.reference), "digest": str(ins.descriptor.digest),
                           "mediaType": ins.descriptor.media_type, "manifest": json.loads(ins.raw)}
    if ins.entries:
        doc["image"] = {str(i.platform): i.config.to_json() for i in ins.images}
    elif ins.images:
        doc["image"] = ins.images[0].config.to_json()
    doc.update(_attestations(ins))
    return json.dumps(doc, indent=2)

"""``imagetools inspect --format json`` shows a platform's SBOMs as buildx does: the image's own as
``SPDX``, the scanned stages' and the context's as ``AdditionalSPDXs`` (docker/buildx
util/imagetools/loader.go ``scanSBOM``: the first SPDX layer, then the others), whatever order
referrers come back in."""

from __future__ import annotations

import json

import pytest

from dockyard.attest.found import Attestation, AttestedImage
from dockyard.attest.intoto import SLSA_PREDICATE, SPDX_PREDICATE, Statement
from dockyard.digest import Digest
from dockyard.imagetools.inspection import Inspection, render_json
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.reference import Reference

IMAGE = Descriptor("application/vnd.oci.image.manifest.v1+json", Digest.of_bytes(b"image"), 5,
                   platform=Platform.parse("linux/amd64"))
INDEX = Descriptor("application/vnd.oci.image.index.v1+json", Digest.of_bytes(b"index"), 5)


def _found(*names: str) -> list[Attestation]:
    out = [Attestation(Statement(subject_name="s", subject_digest=IMAGE.digest, predicate_type=SPDX_PREDICATE,
                                 predicate={"name": n}), IMAGE, "referrers") for n in names]
    out.append(Attestation(Statement(subject_name="s", subject_digest=IMAGE.digest, predicate_type=SLSA_PREDICATE,
                                     predicate={"buildType": "b"}), IMAGE, "referrers"))
    return out


@pytest.mark.parametrize("order", [("pkg:docker/app", "sbom-builder", "sbom-context"),
                                   ("sbom-context", "sbom-builder", "pkg:docker/app")])
def test_the_image_sbom_is_spdx_and_the_extra_scans_additional(order: tuple[str, ...]) -> None:
    found = Inspection(Reference.parse("r.example/app:1"), INDEX, b"{}", (IMAGE,),
                       attested=(AttestedImage(IMAGE.platform, IMAGE, tuple(_found(*order))),))
    shown = json.loads(render_json(found))
    sbom = shown["sbom"]["linux/amd64"]
    assert sbom["SPDX"] == {"name": "pkg:docker/app"}
    assert sorted(d["name"] for d in sbom["AdditionalSPDXs"]) == ["sbom-builder", "sbom-context"]
    assert shown["provenance"]["linux/amd64"] == {"SLSA": {"buildType": "b"}}


def test_one_sbom_has_no_additional_documents() -> None:
    found = Inspection(Reference.parse("r.example/app:1"), IMAGE, b"{}", (),
                       attested=(AttestedImage(IMAGE.platform, IMAGE, tuple(_found("pkg:docker/app"))),))
    assert json.loads(render_json(found))["sbom"] == {"SPDX": {"name": "pkg:docker/app"}}

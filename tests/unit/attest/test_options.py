"""--attest / --provenance / --sbom / --attest-storage as buildx spells them; unimplemented keys refused."""

from __future__ import annotations

import pytest

from dockyard.attest.options import AttestOptions, parse
from dockyard.attest.provenance import Mode
from dockyard.attest.storage import Storage
from dockyard.dockerfile.sbomscan import ScanRequest
from dockyard.errors import UsageError


def test_default_is_nothing() -> None:
    assert parse() == AttestOptions() and not parse().wanted


@pytest.mark.parametrize(("attest", "provenance", "sbom", "want"), [
    (("type=provenance",), None, None, AttestOptions(provenance=Mode.MIN)),
    (("type=provenance,mode=max",), None, None, AttestOptions(provenance=Mode.MAX)),
    ((), "true", None, AttestOptions(provenance=Mode.MIN)),
    ((), "mode=max", "true", AttestOptions(provenance=Mode.MAX, sbom=True)),
    (("type=sbom",), "false", None, AttestOptions(sbom=True)),
    (("type=sbom", "type=sbom,disabled=true"), None, None, AttestOptions()),
    (("type=provenance,builder-id=https://ci.test/run/7",), None, None,
     AttestOptions(provenance=Mode.MIN, builder_id="https://ci.test/run/7")),
])
def test_specs(attest: tuple[str, ...], provenance: str | None, sbom: str | None, want: AttestOptions) -> None:
    assert parse(attest, provenance=provenance, sbom=sbom) == want


def test_scan_stage_and_context_as_buildx_csv() -> None:
    assert parse(("type=sbom",)).scan == ScanRequest()
    assert parse(("type=sbom,scan-stage=true",)).scan == ScanRequest(stage="true")
    assert parse(('type=sbom,"scan-stage=build,deps",scan-context=false',)).scan == ScanRequest(
        stage="build,deps", context="false")
    assert parse(("type=sbom,scan-stage=true",), sbom="scan-stage=false").scan.stage == "false"  # later wins


def test_storage() -> None:
    assert parse(("type=sbom",), storage="referrers").storage is Storage.REFERRERS
    with pytest.raises(UsageError, match="invalid --attest-storage 'tags'"):
        parse(storage="tags")


@pytest.mark.parametrize(("spec", "message"), [
    ("type=sbom,generator=docker/buildkit-syft-scanner", "generator is not supported"),
    ("type=sbom,scan-stage=", "scan-stage needs a value"),
    ("type=sbom,scan-context=", "scan-context needs a value"),
    ("type=provenance,mode=full", "invalid provenance mode 'full'"),
    ("type=provenance,version=v0.2", "only SLSA provenance v1"),
    ("type=vex", "type must be provenance or sbom"),
    ("sbom", "is not KEY=VALUE"),
])
def test_refused(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse((spec,))

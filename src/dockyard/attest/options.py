"""What a build is asked to attest: buildx's ``--attest``, ``--provenance``, ``--sbom`` and
``--attest-storage``, parsed into one :class:`AttestOptions`.

``--attest type=provenance,mode=max`` and ``--provenance=mode=max`` are one request, as in
buildx (``--provenance=true`` is ``type=provenance``, ``false`` or ``disabled=true`` turns it
off). ``--attest type=sbom,scan-stage=VALUE,scan-context=VALUE`` choose which other stages and
whether the build context the SBOM describes too (:mod:`dockyard.dockerfile.sbomscan`: VALUE is
``true``, ``false`` or stage names); ``format=cyclonedx`` writes CycloneDX 1.5 instead of SPDX 2.3
(a dockyard key: BuildKit's SBOMs are SPDX only). Keys dockyard does not implement are refused rather than
ignored: ``generator=`` (a scanner image: dockyard's SBOM needs none).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.attest.provenance import DEFAULT_BUILDER_ID, Mode
from dockyard.attest.storage import Storage
from dockyard.dockerfile.sbomscan import ScanRequest
from dockyard.errors import UsageError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_KEYS = {"provenance": ("type", "mode", "builder-id", "disabled", "version"),
         "sbom": ("type", "disabled", "scan-stage", "scan-context", "format")}


class SbomFormat(enum.Enum):
    """The SBOM's document format (``--attest type=sbom,format=...``): SPDX 2.3 as BuildKit, or CycloneDX 1.5."""

    SPDX = "spdx"
    CYCLONEDX = "cyclonedx"


@dataclass(frozen=True, kw_only=True)
class AttestOptions:
    """The attestations to make and where to store them; the default makes none."""

    sbom: bool = False
    sbom_format: SbomFormat = SbomFormat.SPDX
    provenance: Mode | None = None
    builder_id: str = DEFAULT_BUILDER_ID
    storage: Storage = Storage.INDEX
    scan: ScanRequest = field(default_factory=ScanRequest)  # scan-stage=/scan-context= (None: the ARGs decide)

    @property
    def wanted(self) -> bool:
        return self.sbom or self.provenance is not None


def _choice(kind: type[enum.Enum], text: str, *, option: str, hint: str) -> enum.Enum:
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"invalid {option} {text!r}", hint=hint) from None


def _fields(spec: str, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    # CSV as buildx reads it, so a list stays one field: --attest 'type=sbom,"scan-stage=build,deps"'
    import csv  # only when --attest is given

    for part in next(csv.reader([spec]), [""]):
        key, eq, value = part.partition("=")
        if not eq:
            raise UsageError(f"invalid {option} {spec!r}: {part!r} is not KEY=VALUE",
                             hint="e.g. --attest type=provenance,mode=max")
        out[key.strip()] = value.strip()
    return out


def _shorthand(kind: str, value: str) -> str:
    """``--provenance=true`` / ``--sbom=false`` / ``--provenance=mode=max`` as an ``--attest`` spec."""
    if value.lower() in _TRUE or value == "":
        return f"type={kind}"
    if value.lower() in _FALSE:
        return f"type={kind},disabled=true"
    return f"type={kind},{value}"


def parse(attest: Iterable[str] = (), *, provenance: str | None = None, sbom: str | None = None,
          storage: str | None = None) -> AttestOptions:
    """The options of ``--attest`` (repeatable), ``--provenance``, ``--sbom`` and ``--attest-storage``."""
    specs = list(attest)
    if provenance is not None:
        specs.append(_shorthand("provenance", provenance))
    if sbom is not None:
        specs.append(_shorthand("sbom", sbom))
    want_sbom, mode, builder_id, scan = False, None, DEFAULT_BUILDER_ID, ScanRequest()
    sbom_format = SbomFormat.SPDX
    for spec in specs:
        fields = _fields(spec, "--attest")
        kind = fields.get("type", "")
        if kind not in _KEYS:
            raise UsageError(f"invalid --attest {spec!r}: type must be provenance or sbom")
        unknown = sorted(set(fields) - set(_KEYS[kind]))
        if unknown:
            hint = ("dockyard catalogues the image itself; no scanner image is used" if "generator" in unknown
                    else "keys: " + ", ".join(_KEYS[kind]))
            raise UsageError(f"--attest {spec!r}: {', '.join(unknown)} is not supported", hint=hint)
        disabled = fields.get("disabled", "false").lower() in _TRUE
        if kind == "sbom":
            want_sbom = not disabled
            scan = _scan(fields, spec, scan)
            if "format" in fields:
                chosen = _choice(SbomFormat, fields["format"].lower(), option="SBOM format",
                                 hint="use format=spdx (the default, as BuildKit) or format=cyclonedx")
                assert isinstance(chosen, SbomFormat)
                sbom_format = chosen
            continue
        if fields.get("version", "v1") != "v1":
            raise UsageError(f"--attest {spec!r}: only SLSA provenance v1 is written", hint="drop version=")
        parsed = _choice(Mode, fields.get("mode", "min"), option="provenance mode", hint="use mode=min or mode=max")
        assert isinstance(parsed, Mode)
        mode = None if disabled else parsed
        builder_id = fields.get("builder-id", builder_id)
    where = _choice(Storage, storage or "index", option="--attest-storage",
                    hint="use index (as buildx) or referrers (OCI 1.1)")
    assert isinstance(where, Storage)
    return AttestOptions(sbom=want_sbom, sbom_format=sbom_format, provenance=mode, builder_id=builder_id,
                         storage=where, scan=scan)


def _scan(fields: dict[str, str], spec: str, scan: ScanRequest) -> ScanRequest:
    """``scan-stage=``/``scan-context=`` of one sbom spec (a later spec's value replaces an earlier one)."""
    for key in ("scan-stage", "scan-context"):
        if key in fields and not fields[key]:
            raise UsageError(f"--attest {spec!r}: {key} needs a value",
                             hint=f"{key}=true, {key}=false or {key}=STAGE[,STAGE...]")
    return ScanRequest(stage=fields.get("scan-stage", scan.stage), context=fields.get("scan-context", scan.context))

"""What a build is asked to do: :class:`BuildOptions`, one frozen value, converted once at the edge.

The CLI and the Python API both fill this in; no phase reads options from anywhere else
(environment variables such as SOURCE_DATE_EPOCH are read by the caller, see
:func:`source_date_epoch`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.engine.cacheoptions import CacheExport, CacheImport
from dockyard.engine.mounts import Secret
from dockyard.oci.annotations import ExportAnnotations
from dockyard.oci.layer import Compression
from dockyard.platform import Platform


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """A build as ``dockyard build`` states it (outputs and push are the deliver phase's)."""

    context: Path
    dockerfile: Path | None = None
    platforms: tuple[Platform, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[Secret, ...] = ()
    ssh: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    no_cache_filter: tuple[str, ...] = ()
    jobs: int | None = None
    oci_mediatypes: bool = True
    compression: Compression = Compression.GZIP
    compression_level: int | None = None
    force_compression: bool = False  # recompress base layers too (-o ...,force-compression=true)
    source_date_epoch: int | None = None
    root: Path | None = None  # the store root (the builder node's); default: the data root
    cache_from: tuple[CacheImport, ...] = ()  # --cache-from (engine/cacheimport.py)
    cache_to: tuple[CacheExport, ...] = ()  # --cache-to (engine/cacheexport.py)
    annotations: ExportAnnotations = field(default_factory=ExportAnnotations)  # -o ...,annotation*.KEY=V
    # org.opencontainers.image.base.name/.digest on each platform's manifest (phases/key.py final_bases)
    base_annotations: bool = False


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH from the environment, as reproducible-builds.org defines it."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None

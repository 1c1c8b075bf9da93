"""The node seam: what a node is asked to solve, what it answers, and the protocol a node implements.

A :class:`SolveRequest` carries one or more platforms' subgraphs as a serialized
:class:`~dockyard.graph.definition.Definition` (the canonical bytes the cache keys hash), the
planned image config of each root, and what the plan cannot know: the digests the base tags
resolved to (``pins``, by the ImageSource op's key) and the layer options. The node keys,
runs and caches the vertices in its own store and writes each platform's config and manifest
there; the :class:`SolveReply` names them. The client's assemble phase makes the index.

:meth:`SolveRequest.portable` / :meth:`SolveRequest.from_portable` are the JSON a remote node
receives, with the cache imports (registry only) and exports (as parts the client merges,
:attr:`~dockyard.engine.cacheoptions.CacheExport.part`) and the stages an SBOM also describes
(the node reports their layers; the client makes the attestations); ``context``, ``secrets`` and
``ssh`` are not in it (a remote node syncs the context; see docs/remote-nodes.md for the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dockyard import progress
from dockyard.engine.cacheoptions import CacheExport, CacheImport
from dockyard.engine.mounts import Secret
from dockyard.graph.definition import Definition
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.layer import Compression, LayerOptions
from dockyard.platform import Platform
from dockyard.registry.client import Client

if TYPE_CHECKING:
    from dockyard.graph.contenthash import ContextHasher


@dataclass(frozen=True)
class PlatformTarget:
    """One root of the definition: its platform, planned image config (labels applied; the node
    adds the layers' diff_ids and the time), and the annotations of its manifest and of the
    manifest's descriptor."""

    platform: Platform
    config: ImageConfig
    annotations: Mapping[str, str] = field(default_factory=dict)
    descriptor_annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StageTarget:
    """A stage whose filesystem an SBOM describes too (``BUILDKIT_SBOM_SCAN_STAGE``): the node resolves
    the op ``key`` (None: an empty stage) as another root and reports its layers, not an image."""

    platform: Platform
    name: str
    key: str | None


@dataclass(frozen=True, kw_only=True)
class SolveRequest:
    """One node's share of a build; ``targets[i]`` belongs to ``definition.roots[i]``."""

    definition: Definition
    targets: tuple[PlatformTarget, ...]
    pins: Mapping[str, str] = field(default_factory=dict)  # ImageSource op key -> manifest digest
    no_cache: frozenset[str] = frozenset()  # op keys that run even when cached
    layer_options: LayerOptions = field(default_factory=LayerOptions)
    oci_mediatypes: bool = True
    force_compression: bool = False  # recompress base layers too
    created: str = ""
    jobs: int = 1
    context: Path | None = None
    secrets: tuple[Secret, ...] = ()
    ssh: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[CacheImport, ...] = ()
    cache_to: tuple[CacheExport, ...] = ()
    stages: tuple[StageTarget, ...] = ()  # only with an SBOM that scans other stages
    # the key phase's listings of the context, when this process keyed the build: the local node's
    # COPY reads them instead of walking the context again; never sent (a remote node walks its own)
    context_listing: ContextHasher | None = field(default=None, compare=False)

    @property
    def salt(self) -> str:
        """What pins every vertex key besides the op: the layer options that change the blobs."""
        o = self.layer_options
        return f"{o.compression.value}:{o.level}:{o.source_date_epoch}"

    def portable(self) -> dict[str, Any]:
        """The part a remote node receives (JSON-able): the graph and what shapes its results."""
        o = self.layer_options
        return {
            "definition": self.definition.to_bytes().decode("utf-8"),
            "targets": [{"platform": str(t.platform), "config": t.config.to_json(), "annotations": dict(t.annotations),
                         "descriptor_annotations": dict(t.descriptor_annotations)} for t in self.targets],
            "pins": dict(sorted(self.pins.items())),
            "no_cache": sorted(self.no_cache),
            "layer": {"compression": o.compression.value, "level": o.level, "source_date_epoch": o.source_date_epoch},
            "oci_mediatypes": self.oci_mediatypes,
            "force_compression": self.force_compression,
            "created": self.created,
            "jobs": self.jobs,
            "cache_from": [c.portable() for c in self.cache_from],
            "cache_to": [c.portable() for c in self.cache_to],
            "stages": [{"platform": str(t.platform), "name": t.name, "key": t.key} for t in self.stages],
        }

    @classmethod
    def from_portable(cls, doc: Mapping[str, Any], *, context: Path | None = None) -> SolveRequest:
        layer = doc["layer"]
        return cls(
            definition=Definition.from_bytes(str(doc["definition"]).encode("utf-8")),
            targets=tuple(PlatformTarget(Platform.parse(t["platform"]),
                                         ImageConfig.from_json(dict(t["config"]), what="planned image config"),
                                         dict(t["annotations"]), dict(t["descriptor_annotations"]))
                          for t in doc["targets"]),
            pins={str(k): str(v) for k, v in doc["pins"].items()},
            no_cache=frozenset(str(k) for k in doc["no_cache"]),
            layer_options=LayerOptions(compression=Compression(layer["compression"]), level=layer["level"],
                                       source_date_epoch=layer["source_date_epoch"]),
            oci_mediatypes=bool(doc["oci_mediatypes"]), force_compression=bool(doc["force_compression"]),
            created=str(doc["created"]), jobs=int(doc["jobs"]),
            cache_from=tuple(CacheImport.from_portable(c) for c in doc.get("cache_from", [])),
            cache_to=tuple(CacheExport.from_portable(c) for c in doc.get("cache_to", [])),
            stages=tuple(StageTarget(Platform.parse(t["platform"]), str(t["name"]),
                                     None if t["key"] is None else str(t["key"])) for t in doc.get("stages", [])),
            context=context,
        )


@dataclass(frozen=True)
class SolveReply:
    """Each target's image in the node's store (its manifest descriptor carries the platform);
    ``stages``: the layers (bottom first, blobs in the store) of each requested :class:`StageTarget`."""

    images: dict[Platform, PlatformImage]
    ran: int
    cached: int
    caches: Mapping[CacheExport, Descriptor] = field(default_factory=dict)  # each --cache-to's manifest
    stages: Mapping[Platform, tuple[tuple[str, tuple[Descriptor, ...]], ...]] = field(default_factory=dict)


@runtime_checkable
class Solver(Protocol):
    """The capability a node offers to build: solve a request in its store."""

    def solve(self, request: SolveRequest, *, client: Client,
              listener: progress.Listener | None = None) -> SolveReply: ...

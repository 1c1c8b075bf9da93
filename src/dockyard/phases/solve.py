"""Solve phase (client side): the keyed plan becomes a node's :class:`~dockyard.engine.solverequest.SolveRequest`.

The node runs it (:class:`dockyard.engine.solverequest.Solver`: the local node in process
through :mod:`dockyard.engine.solve`, a remote node over its protocol) and answers with each
platform's manifest and config in its store.
"""

from __future__ import annotations

import os

from dockyard.dockerfile.plan import Plan
from dockyard.engine.image import created_at
from dockyard.engine.solverequest import PlatformTarget, SolveRequest, StageTarget
from dockyard.graph.contenthash import ContextHasher
from dockyard.oci.layer import LayerOptions
from dockyard.phases.key import Keyed
from dockyard.phases.request import BuildOptions


def solve_request(options: BuildOptions, the_plan: Plan, keyed: Keyed, *,
                  context_listing: ContextHasher | None = None) -> SolveRequest:
    """The request for all platforms of ``the_plan`` (image labels applied to each planned config;
    with ``options.base_annotations`` each manifest names its base image, given annotations winning).
    ``context_listing`` is the hasher that keyed it, for the local node (SolveRequest.context_listing)."""
    targets = []
    for pp in the_plan.platforms:
        planned = pp.config.with_container(labels={**pp.config.config.labels, **options.labels})
        bases = keyed.bases.get(pp.platform, {}) if options.base_annotations else {}
        targets.append(PlatformTarget(
            pp.platform, planned,
            annotations={**bases, **options.annotations.for_platform("manifest", pp.platform)},
            descriptor_annotations=options.annotations.for_platform("manifest-descriptor", pp.platform)))
    return SolveRequest(
        definition=keyed.definition, targets=tuple(targets), pins=keyed.pins, no_cache=keyed.no_cache,
        layer_options=LayerOptions(compression=options.compression, level=options.compression_level,
                                   source_date_epoch=options.source_date_epoch),
        oci_mediatypes=options.oci_mediatypes, force_compression=options.force_compression,
        created=created_at(options.source_date_epoch),
        jobs=options.jobs or os.cpu_count() or 1, context=options.context, secrets=options.secrets,
        ssh=options.ssh, cache_from=options.cache_from, cache_to=options.cache_to,
        stages=tuple(StageTarget(platform, name, key) for platform, found in keyed.stages.items()
                     for name, key in found),
        context_listing=context_listing)

"""``build()``: one call from a Dockerfile and a context to an image in the content store.

The phases in order (each its own module, see :mod:`dockyard.phases`): plan every target
platform; key every op and serialize the graph (:mod:`dockyard.graph.definition`), pinning
what the plan cannot know (the digests the base tags resolve to now); solve: the node (the
local one unless ``node`` is given) deserializes the definition, runs all platforms' roots
in one scheduler run (a stage shared by platforms runs once) and writes each platform's
config and manifest; assemble the index; then the attest and gate hooks. Delivering the
result (push, files, metadata) is the caller's next step: :func:`dockyard.phases.deliver.deliver`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dockyard import gcpause, progress
from dockyard.dockerfile.plan import Plan
from dockyard.dockerfile.sbomscan import ScanRequest
from dockyard.engine.bases import BaseImages
from dockyard.engine.solve import LocalSolver
from dockyard.engine.solverequest import Solver, SolveRequest
from dockyard.errors import UsageError, filesystem_error
from dockyard.graph.contenthash import ContextHasher, StatCache
from dockyard.phases.assemble import assemble
from dockyard.phases.attest import Attestor, DescribesStages, attest
from dockyard.phases.gate import Gate, check
from dockyard.phases.key import key_plan
from dockyard.phases.plan import plan_build
from dockyard.phases.request import BuildOptions
from dockyard.phases.result import BuildResult
from dockyard.phases.solve import solve_request
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


def build(options: BuildOptions, *, client: Client | None = None, listener: progress.Listener | None = None,
          node: Solver | None = None, attestors: Sequence[Attestor] = (), gates: Sequence[Gate] = ()) -> BuildResult:
    """Build every platform of ``options``; the image ends up in the content store under ``options.root``.

    ``node`` solves the graph (default: this machine, in the same store); ``attestors`` and
    ``gates`` run last, in that order (see :mod:`.attest` and :mod:`.gate`).
    """
    root = (options.root or _default_root()).absolute()  # overlay and runc paths must not depend on a cwd
    content = ContentStore(root / "content")
    own_client = client is None
    given = client or Client()
    client = given.for_build()  # each base tag resolved once in this build (the caller's build view, if given)
    try:
        with gcpause.held():  # the context's listing stays out of collections until the build ends
            bases = BaseImages(client, content)
            scan = next((a.sbom_scan for a in attestors if isinstance(a, DescribesStages) and a.sbom_scan), None)
            the_plan, request = planned_request(options, root=root, bases=bases, sbom_scan=scan)
            reply = (node or LocalSolver(root, bases)).solve(request, client=client, listener=listener)
            top = assemble(content, [image.descriptor for image in reply.images.values()], oci=options.oci_mediatypes,
                           annotations=options.annotations.index)
            result = BuildResult(descriptor=top, images=reply.images, content=content,
                                 ran=reply.ran, cached=reply.cached, bases=tuple(bases.resolved()),
                                 graphs={pp.platform: pp.state for pp in the_plan.platforms}, stages=reply.stages,
                                 sbom_context=frozenset(pp.platform for pp in the_plan.platforms if pp.sbom.context))
            result = attest(result, attestors)
            check(result, gates)
            return result
    except OSError as exc:  # pulling a base, writing manifests or the cache: a full or read-only store
        raise filesystem_error(exc, doing="build", fallback=root) from exc
    finally:
        if own_client:
            given.close()


def planned_request(options: BuildOptions, *, root: Path, bases: BaseImages,
                    sbom_scan: ScanRequest | None = None) -> tuple[Plan, SolveRequest]:
    """The plan and key phases: ``options`` planned, and as a node's solve request."""
    the_plan = plan_build(options, resolver=bases, sbom_scan=sbom_scan)
    if len(the_plan.platforms) == 1 and options.annotations.index:
        raise UsageError("index annotations not supported for single platform export",
                         hint="a one-platform result is a single manifest: use annotation-manifest. instead")
    # context file digests survive between builds (by path, size, mtime, inode): a warm build
    # of a big context stats its files instead of reading them again
    stat_file = StatCache.path_for(root, options.context)
    stat_cache = StatCache.load(stat_file)
    keys = the_plan.cache_keys(stat_cache=stat_cache)
    keyed = key_plan(the_plan, keys, bases, no_cache_stages=frozenset(options.no_cache_filter),
                     no_cache_all=options.no_cache)
    stat_file.parent.mkdir(parents=True, exist_ok=True)
    stat_cache.save(stat_file)
    listing = keys.hasher if isinstance(keys.hasher, ContextHasher) else None
    return the_plan, solve_request(options, the_plan, keyed, context_listing=listing)


def _default_root() -> Path:
    from dockyard.paths import data_root

    return data_root()

"""``build()``: one call from a Dockerfile and a context to an image in the content store.

The phases in order (each its own module, see :mod:`dockyard.phases`): plan every target
platform, key (pin cache keys to what the plan cannot know: the digests the base tags resolve
to now, layer compression, SOURCE_DATE_EPOCH), solve all platforms' graphs in one scheduler run
(so a stage shared by platforms runs once), assemble each platform's config and manifest and,
for several platforms, the index; export the cache (``--cache-to``); then the attest and gate
hooks. Delivering the result (push, files, metadata) is the caller's next step:
:func:`dockyard.phases.deliver.deliver`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from dockyard import progress
from dockyard.engine import cacheexport
from dockyard.engine.bases import BaseImages
from dockyard.errors import UsageError, filesystem_error
from dockyard.graph.contenthash import StatCache
from dockyard.oci.layer import LayerOptions
from dockyard.phases.assemble import assemble
from dockyard.phases.attest import Attestor, attest
from dockyard.phases.gate import Gate, check
from dockyard.phases.key import KeyedGraph
from dockyard.phases.plan import plan_build
from dockyard.phases.request import BuildOptions
from dockyard.phases.result import BuildResult
from dockyard.phases.solve import solve_graph
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore


def build(options: BuildOptions, *, client: Client | None = None, listener: progress.Listener | None = None,
          attestors: Sequence[Attestor] = (), gates: Sequence[Gate] = ()) -> BuildResult:
    """Build every platform of ``options``; the image ends up in the content store.

    ``attestors`` and ``gates`` run last, in that order (see :mod:`.attest` and :mod:`.gate`).
    """
    root = (options.root or _default_root()).absolute()  # overlay and runc paths must not depend on a cwd
    content = ContentStore(root / "content")
    own_client = client is None
    client = client or Client()
    try:
        bases = BaseImages(client, content)
        the_plan = plan_build(options, resolver=bases)
        if len(the_plan.platforms) == 1 and options.annotations.index:
            raise UsageError("index annotations not supported for single platform export",
                             hint="a one-platform result is a single manifest: use annotation-manifest. instead")
        epoch = options.source_date_epoch
        layer_options = LayerOptions(compression=options.compression, level=options.compression_level,
                                     source_date_epoch=epoch)
        salt = f"{options.compression.value}:{options.compression_level}:{epoch}"
        # context file digests survive between builds (by path, size, mtime, inode): a warm build
        # of a big context stats its files instead of reading them again
        stat_file = root / "statcache" / (hashlib.sha256(str(options.context.resolve()).encode()).hexdigest()[:20]
                                          + ".json")
        stat_cache = StatCache.load(stat_file)
        graph = KeyedGraph(the_plan, the_plan.cache_keys(stat_cache=stat_cache), bases, salt=salt,
                           no_cache_stages=frozenset(options.no_cache_filter), no_cache_all=options.no_cache)
        roots = [graph.node(pp.state) if pp.state is not None else None for pp in the_plan.platforms]
        stat_file.parent.mkdir(parents=True, exist_ok=True)
        stat_cache.save(stat_file)
        solved = solve_graph(graph, roots, options, root=root, content=content, bases=bases, client=client,
                             layer_options=layer_options, listener=listener)
        top, manifests, configs = assemble(content, the_plan, solved, options)
        cacheexport.export(options.cache_to, records=solved.records, finals=[r.layers for r in solved.finals],
                           nodes=list(graph.nodes.values()), root=root, content=content, client=client,
                           imported=solved.imported, listener=listener)
        result = BuildResult(descriptor=top, manifests=manifests, configs=configs, content=content,
                             ran=solved.ran, cached=solved.cached, bases=tuple(bases.resolved()),
                             graphs={pp.platform: pp.state for pp in the_plan.platforms})
        result = attest(result, attestors)
        check(result, gates)
        return result
    except OSError as exc:  # pulling a base, writing manifests or the cache: a full or read-only store
        raise filesystem_error(exc, doing="build", fallback=root) from exc
    finally:
        if own_client:
            client.close()


def _default_root() -> Path:
    from dockyard.paths import data_root

    return data_root()

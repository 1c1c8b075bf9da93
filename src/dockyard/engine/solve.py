"""A node's solve: a :class:`~dockyard.engine.solverequest.SolveRequest` run in one store.

The definition is deserialized into ops, each op becomes a solver vertex whose key pins the
op's key (its canonical bytes' hash) to the request's salt, its inputs' vertex keys and, for
a base image, the digest the tag resolved to; then every root runs in one scheduler run (a
stage shared by platforms runs once), each platform's config and manifest are written, and
``--cache-to`` is exported while the cache database is open. :func:`solve_graph` takes the
ops directly (the in-process path that a round-trip test compares with the serialized one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dockyard import gcpause, progress
from dockyard.engine import cacheexport
from dockyard.engine.bases import BaseImages
from dockyard.engine.cachemanifest import INLINE_FIELD, inline_field
from dockyard.engine.image import force_compression, write_image
from dockyard.engine.leftovers import reclaim_leftovers
from dockyard.engine.results import FsResult
from dockyard.engine.solverequest import SolveReply, SolveRequest
from dockyard.engine.worker import Node, OpWorker, WorkerConfig, pin
from dockyard.errors import BuildError, DockyardError
from dockyard.executor.runc import RuncExecutor
from dockyard.graph import ops
from dockyard.graph.definition import Graph, OpMeta, deserialize
from dockyard.graph.walk import topological
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.layer import LayerOptions
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.rootless.userns import require_user_namespace
from dockyard.solver import solve as run_solver
from dockyard.store.cache import CacheDB
from dockyard.store.content import ContentStore
from dockyard.store.snapshots import Snapshotter


@dataclass(frozen=True)
class LocalSolver:
    """The solve capability of a store on this machine (the local node's, or a remote node's own)."""

    root: Path
    bases: BaseImages | None = None  # shared with the planner when in the same process

    def solve(self, request: SolveRequest, *, client: Client,
              listener: progress.Listener | None = None) -> SolveReply:
        return solve(request, root=self.root, client=client, listener=listener, bases=self.bases)


def solve(request: SolveRequest, *, root: Path, client: Client, listener: progress.Listener | None = None,
          bases: BaseImages | None = None) -> SolveReply:
    """Deserialize ``request.definition`` and solve it in the store at ``root``."""
    with gcpause.held():  # a big COPY's entries stay out of collections until the solve ends
        return solve_graph(deserialize(request.definition), request, root=root, client=client, listener=listener,
                           bases=bases)


def vertices(graph: Graph, request: SolveRequest) -> dict[str, Node]:
    """A solver vertex per op of ``graph``, by op key (see the module docstring for the key)."""
    meta = request.definition.meta
    out: dict[int, Node] = {}
    by_key: dict[str, Node] = {}
    for op in topological(graph.roots):
        key = graph.key(op)
        inputs = tuple(out[id(i)] for i in op.inputs)
        extra = [n.key for n in inputs]
        if isinstance(op, ops.ImageSource):
            if key not in request.pins:
                raise BuildError(f"base image {op.ref} ({op.platform}) has no pinned digest in the solve request")
            extra.append(request.pins[key])
        info = meta.get(key, OpMeta())
        name = info.name or ("[internal] load build context" if isinstance(op, ops.ContextSource)
                             else op.description or type(op).__name__)
        node = Node(op=op, key=pin(key, request.salt, *extra), inputs=inputs, name=name, where=info.where)
        out[id(op)] = node
        by_key.setdefault(key, node)
    return by_key


def solve_graph(graph: Graph, request: SolveRequest, *, root: Path, client: Client,
                listener: progress.Listener | None = None, bases: BaseImages | None = None) -> SolveReply:
    """Solve the roots of ``graph`` (ops and their keys) as ``request`` says, in the store at ``root``."""
    require_user_namespace()
    if len(graph.roots) != len(request.targets):
        raise BuildError(f"solve request has {len(request.targets)} targets for {len(graph.roots)} graph roots")
    root = root.absolute()
    content = ContentStore(root / "content")
    bases = bases or BaseImages(client, content)
    nodes = vertices(graph, request)
    roots = [nodes[graph.key(r)] if r is not None else None for r in graph.roots]
    no_cache = frozenset(nodes[k].key for k in request.no_cache if k in nodes)
    executor = RuncExecutor(state_dir=root / "run")
    reclaim_leftovers(root, executor=executor)
    snapshots = Snapshotter(root / "snapshots")
    cache = CacheDB(root / "cache.db")
    worker: OpWorker | None = None
    try:
        imported = None
        if request.cache_from:
            from dockyard.engine import cacheimport  # only when --cache-from names a source

            imported = cacheimport.load(request.cache_from, client=client, content=content, root=root,
                                        platforms=[str(t.platform) for t in request.targets], listener=listener)
        worker = OpWorker(
            snapshots=snapshots, cache=cache, content=content, executor=executor, bases=bases,
            config=WorkerConfig(context_dir=request.context, secrets={s.id: s for s in request.secrets},
                                ssh=request.ssh, layer_options=request.layer_options, no_cache=no_cache, root=root,
                                context_listing=request.context_listing,
                                several_platforms=len({t.platform for t in request.targets}) > 1,
                                read_later=frozenset(i.key for n in nodes.values() for i in n.inputs)),
            imported=imported)
        stage_roots = _stage_roots(request, nodes)
        outcome = run_solver([*(r for r in roots if r is not None), *stage_roots.values()], worker,
                             jobs=request.jobs, listener=listener)
        _finish_layers(worker, listener)  # the layers written while later steps ran
        cache.flush()  # the steps' records, written in the background
        records = cacheexport.collect(nodes.values(), outcome.results, cache=cache, content=content,
                                      imported=imported) if request.cache_to else ()
    finally:
        if worker is not None:
            worker.close()
        executor.close()
        cache.close()
        snapshots.close()
    finals: list[FsResult] = []
    for node in roots:
        result = outcome.results[node.key] if node is not None else FsResult(top=None)
        assert isinstance(result, FsResult)
        finals.append(result)
    inline_cache = any(c.kind == "inline" for c in request.cache_to)
    images: dict[Platform, PlatformImage] = {}
    recompressing = LayerOptions(compression=request.layer_options.compression, level=request.layer_options.level)
    for target, built in zip(request.targets, finals, strict=True):
        inline = {INLINE_FIELD: inline_field(records, built.layers)} if inline_cache else {}
        result = force_compression(content, built, recompressing) if request.force_compression else built
        images[target.platform] = write_image(
            content, target.config, result, platform=target.platform, created=request.created,
            oci=request.oci_mediatypes, extra=inline, annotations=target.annotations,
            descriptor_annotations=target.descriptor_annotations)
    caches = cacheexport.export(request.cache_to, records=records, finals=[r.layers for r in finals],
                       nodes=list(nodes.values()), root=root, content=content, client=client,
                       imported=imported, listener=listener)
    stages: dict[Platform, list[tuple[str, tuple[Descriptor, ...]]]] = {}
    for stage in request.stages:
        top = outcome.results[stage_roots[stage.key].key] if stage.key is not None else FsResult(top=None)
        assert isinstance(top, FsResult)
        layers = tuple(Descriptor(media_type=layer.media_type, digest=layer.digest, size=layer.size)
                       for layer in top.layers)
        stages.setdefault(stage.platform, []).append((stage.name, layers))
    return SolveReply(images=images, ran=len(outcome.ran), cached=len(outcome.cached), caches=caches,
                      stages={p: tuple(found) for p, found in stages.items()})


_UNNOTICED = 0.2  # seconds of waiting for layers that get no progress line


def _finish_layers(worker: OpWorker, listener: progress.Listener | None) -> None:
    """Wait for the layers still being written after the last step, shown as a step of its own when
    that takes a noticeable time (BuildKit shows its blobs being made as the exporter's "exporting
    layers"; a line for every small layer's few milliseconds would only be noise)."""
    started = time.monotonic()
    if worker.written(within=_UNNOTICED):
        worker.finish()
        return
    emit = listener or (lambda _event: None)
    vertex = "layers:writing"
    emit(progress.Started(vertex, name="writing layers"))
    try:
        worker.finish()
    except DockyardError as exc:
        emit(progress.Failed(vertex, message=exc.message))
        raise
    emit(progress.Done(vertex, duration=time.monotonic() - started))


def _stage_roots(request: SolveRequest, nodes: Mapping[str, Node]) -> dict[str | None, Node]:
    """The vertices of the stages an SBOM scans (each an ancestor of a root, so already in the graph)."""
    out: dict[str | None, Node] = {}
    for stage in request.stages:
        if stage.key is None:
            continue
        if stage.key not in nodes:
            raise BuildError(f"stage {stage.name} ({stage.platform}) to scan is not in the solve request's graph")
        out[stage.key] = nodes[stage.key]
    return out


def direct_graph(roots: tuple[ops.State, ...], keys: Mapping[int, str]) -> Graph:
    """A :class:`Graph` over in-memory ops (no serialization): ``keys`` maps ``id(op)`` to its key."""
    by_key: dict[str, ops.Op] = {}
    for op in topological(roots):
        by_key.setdefault(keys[id(op)], op)
    return Graph(by_key=by_key, roots=roots, keys=dict(keys))

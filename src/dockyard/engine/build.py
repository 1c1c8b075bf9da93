"""``build()``: one call from a Dockerfile and a context to images in the content store.

Plan every target platform (the frontend), pin cache keys to what the plan cannot know
(the digests the base tags resolve to now, layer compression, SOURCE_DATE_EPOCH), solve all
platforms' graphs in one scheduler run (so a stage shared by platforms runs once), then
write each platform's config and manifest and, for several platforms, the index. Exporting
and pushing the result is the caller's next step (:mod:`dockyard.engine.deliver`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dockyard import progress
from dockyard.dockerfile.plan import Plan, plan
from dockyard.engine import cacheexport, cacheimport, image
from dockyard.engine.bases import BaseImages
from dockyard.engine.cachemanifest import INLINE_FIELD, inline_field
from dockyard.engine.cacheoptions import CacheExport, CacheImport
from dockyard.engine.leftovers import reclaim_leftovers
from dockyard.engine.mounts import Secret
from dockyard.engine.results import FsResult
from dockyard.engine.worker import Node, OpWorker, WorkerConfig, pin
from dockyard.errors import DockerfileError
from dockyard.executor.runc import RuncExecutor
from dockyard.graph import ops
from dockyard.graph.cachekey import CacheKeys
from dockyard.graph.contenthash import StatCache
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.layer import Compression, LayerOptions
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.selector.errors import SelectionError, explain
from dockyard.solver import solve
from dockyard.store.cache import CacheDB
from dockyard.store.content import ContentStore
from dockyard.store.snapshots import Snapshotter


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """A build as ``dockyard build`` states it (outputs and push are handled after)."""

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
    source_date_epoch: int | None = None
    root: Path | None = None  # the store root (the builder node's); default: the data root
    cache_from: tuple[CacheImport, ...] = ()  # --cache-from (engine/cacheimport.py)
    cache_to: tuple[CacheExport, ...] = ()  # --cache-to (engine/cacheexport.py)


@dataclass(frozen=True)
class BuildResult:
    """The built image: ``descriptor`` is a manifest (one platform) or an index (several)."""

    descriptor: Descriptor
    manifests: dict[Platform, Descriptor]
    configs: dict[Platform, Descriptor]
    content: ContentStore
    ran: int
    cached: int


def _created(epoch: int | None) -> str:
    when = dt.datetime.fromtimestamp(epoch, dt.UTC) if epoch is not None else dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if epoch is not None else when.isoformat().replace("+00:00", "Z")


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH from the environment, as reproducible-builds.org defines it."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None


class _Graph:
    """Turns the plan's ops into solver nodes with pinned keys and buildx-like step names."""

    def __init__(self, the_plan: Plan, keys: CacheKeys, bases: BaseImages, *, salt: str,
                 no_cache_stages: frozenset[str], no_cache_all: bool) -> None:
        self.keys = keys
        self.bases = bases
        self.salt = salt
        self.nodes: dict[int, Node] = {}
        self.names: dict[int, str] = {}
        self.stage_of: dict[int, str] = {}
        self.lines: dict[int, int] = {}
        self.filename = the_plan.dockerfile.filename
        self.no_cache: set[str] = set()
        self._no_cache_stages = no_cache_stages
        self._no_cache_all = no_cache_all
        multi = len(the_plan.platforms) > 1
        for pp in the_plan.platforms:
            by_stage: dict[str, list[tuple[int, str]]] = {}
            for step in pp.steps:
                if step.op is not None:
                    by_stage.setdefault(step.stage, []).append((id(step.op), step.text))
            for stage, items in by_stage.items():
                for i, (op_id, text) in enumerate(items, 1):
                    prefix = f"{pp.platform} {stage}" if multi else stage
                    self.names.setdefault(op_id, f"[{prefix} {i}/{len(items)}] {text}")
                    self.stage_of.setdefault(op_id, stage)
            for step in pp.steps:
                if step.op is not None:
                    self.lines.setdefault(id(step.op), step.line)

    def node(self, op: ops.Op) -> Node:
        found = self.nodes.get(id(op))
        if found is not None:
            return found
        inputs = tuple(self.node(i) for i in op.inputs)
        extra = [n.key for n in inputs]
        if isinstance(op, ops.ImageSource):
            extra.append(str(self.bases.pull(op.ref, op.platform).descriptor.digest))
        try:
            frontend_key = self.keys.key(op)
        except SelectionError as exc:
            raise DockerfileError(f"{self.names.get(id(op), 'COPY')}: {explain(exc)}",
                                  file=self.filename, line=self.lines.get(id(op))) from None
        key = pin(frontend_key, self.salt, *extra)
        name = self.names.get(id(op)) or (
            "[internal] load build context" if isinstance(op, ops.ContextSource) else op.description or
            type(op).__name__)
        line = self.lines.get(id(op))
        node = Node(op=op, key=key, inputs=inputs, name=name, where=f"{self.filename}:{line}" if line else "")
        self.nodes[id(op)] = node
        runs = not isinstance(op, ops.ImageSource | ops.ContextSource)
        if runs and (self._no_cache_all or self.stage_of.get(id(op)) in self._no_cache_stages):
            self.no_cache.add(key)
        return node


def build(options: BuildOptions, *, client: Client | None = None,
          listener: progress.Listener | None = None) -> BuildResult:
    """Build every platform of ``options``; the images end up in the content store."""
    root = (options.root or _default_root()).absolute()  # overlay and runc paths must not depend on a cwd
    content = ContentStore(root / "content")
    own_client = client is None
    client = client or Client()
    try:
        bases = BaseImages(client, content)
        dockerfile = options.dockerfile or options.context / "Dockerfile"
        the_plan = plan(dockerfile, options.context, platforms=options.platforms, build_args=options.build_args,
                        target=options.target, resolver=bases)
        epoch = options.source_date_epoch
        layer_options = LayerOptions(compression=options.compression, level=options.compression_level,
                                     source_date_epoch=epoch)
        salt = f"{options.compression.value}:{options.compression_level}:{epoch}"
        # context file digests survive between builds (by path, size, mtime, inode): a warm build
        # of a big context stats its files instead of reading them again
        stat_file = root / "statcache" / (hashlib.sha256(str(options.context.resolve()).encode()).hexdigest()[:20]
                                          + ".json")
        stat_cache = StatCache.load(stat_file)
        graph = _Graph(the_plan, the_plan.cache_keys(stat_cache=stat_cache), bases, salt=salt,
                       no_cache_stages=frozenset(options.no_cache_filter), no_cache_all=options.no_cache)
        roots = [graph.node(pp.state) if pp.state is not None else None for pp in the_plan.platforms]
        stat_file.parent.mkdir(parents=True, exist_ok=True)
        stat_cache.save(stat_file)
        executor = RuncExecutor(state_dir=root / "run")
        reclaim_leftovers(root, executor=executor)
        snapshots = Snapshotter(root / "snapshots")
        cache = CacheDB(root / "cache.db")
        try:
            imported = cacheimport.load(options.cache_from, client=client, content=content, root=root,
                                        listener=listener) if options.cache_from else None
            worker = OpWorker(
                snapshots=snapshots, cache=cache, content=content,
                executor=executor, bases=bases,
                config=WorkerConfig(context_dir=options.context, secrets={s.id: s for s in options.secrets},
                                    ssh=options.ssh, layer_options=layer_options,
                                    no_cache=frozenset(graph.no_cache), root=root), imported=imported)
            outcome = solve([r for r in roots if r is not None], worker, jobs=options.jobs or os.cpu_count() or 1,
                            listener=listener)
            records = cacheexport.collect(graph.nodes.values(), outcome.results, cache=cache, content=content,
                                          imported=imported) if options.cache_to else ()
        finally:
            cache.close()
            snapshots.close()
        created = _created(epoch)
        manifests: dict[Platform, Descriptor] = {}
        configs: dict[Platform, Descriptor] = {}
        finals: list[FsResult] = []
        for pp, node in zip(the_plan.platforms, roots, strict=True):
            result = outcome.results[node.key] if node is not None else FsResult(top=None)
            assert isinstance(result, FsResult)
            finals.append(result)
            inline = {INLINE_FIELD: inline_field(records, result.layers)} \
                if any(c.kind == "inline" for c in options.cache_to) else {}
            manifests[pp.platform], configs[pp.platform] = image.write_image(
                content, pp.config, result, created=created, labels=options.labels, oci=options.oci_mediatypes,
                extra=inline)
        if len(manifests) == 1:
            top = next(iter(manifests.values()))
        else:
            top = image.write_index(content, list(manifests.values()), oci=options.oci_mediatypes)
        cacheexport.export(options.cache_to, records=records, finals=[r.layers for r in finals],
                           nodes=list(graph.nodes.values()), root=root, content=content, client=client,
                           imported=imported, listener=listener)
        return BuildResult(descriptor=top, manifests=manifests, configs=configs, content=content,
                           ran=len(outcome.ran), cached=len(outcome.cached))
    finally:
        if own_client:
            client.close()


def _default_root() -> Path:
    from dockyard.paths import data_root

    return data_root()

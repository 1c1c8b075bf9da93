"""A build spread over a builder's nodes: each platform on the node placement picks, rotating past dead ones.

Platforms that land on this machine's node build together in one in-process ``build()`` (a
stage shared by them runs once). Each platform that lands on a remote node gets its own
session: hello, bootstrap, context sync, solve. A node that cannot be reached, fails its
bootstrap, or dies mid-build (:class:`NodeError`) is skipped and the platform restarts on the
next candidate; a failing build step fails the build (any node would repeat it). Remote
nodes push layers, config and manifest by digest; the caller pushes the index and tags only
after every platform is done, so a node that flaps never leaves a half-pushed index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard import progress
from dockyard.builders.builder import builder_store_dir
from dockyard.builders.local import LocalNode
from dockyard.builders.node import Placement, candidates
from dockyard.builders.protocol import contextsync
from dockyard.builders.summary import platform_label
from dockyard.digest import Digest
from dockyard.dockerfile import dockerignore
from dockyard.dockerfile.sbomscan import ScanRequest
from dockyard.engine import cacheexport
from dockyard.engine.bases import BaseImages, ResolvedBase
from dockyard.engine.cachemanifest import CacheConfig
from dockyard.engine.cacheoptions import CacheExport
from dockyard.engine.solverequest import SolveReply, SolveRequest
from dockyard.errors import NodeError, NotBuiltError, UsageError
from dockyard.graph import ops
from dockyard.graph.contenthash import StatCache
from dockyard.oci.annotations import ExportAnnotations
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.manifest import Manifest
from dockyard.phases.assemble import assemble
from dockyard.phases.attest import Attestor, DescribesStages, attest
from dockyard.phases.build import build, planned_request
from dockyard.phases.request import BuildOptions
from dockyard.phases.result import BuildResult
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.client import Client
from dockyard.registry.hosts import HostConfig
from dockyard.store.content import ContentStore

if TYPE_CHECKING:
    from dockyard.builders.builder import AnyNode, Builder
    from dockyard.builders.kube import KubeNode
    from dockyard.builders.protocol.session import Session
    from dockyard.builders.ssh import SshNode  # loaded only when a remote node is used

Say = Callable[[str], None]


@dataclass(frozen=True)
class Placed:
    """Where a platform was built, and what was tried before (``node: reason``)."""

    node: str
    endpoint: str
    emulated: bool
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class FarmResult:
    """A build spread over nodes: the assembled result and where each platform ran."""

    result: BuildResult
    placed: dict[Platform, Placed]


def client_store(builder: Builder) -> Path:
    """Where the client keeps the image it assembles: the first local node's store, else the builder's own."""
    local = builder.local_nodes()
    return local[0].store_root() if local else builder_store_dir(builder.name) / "client"


def build_on_nodes(builder: Builder, options: BuildOptions, *, placement: Placement | None = None,
                   push: Sequence[Reference] = (), fetch_blobs: bool, client: Client,
                   listener: progress.Listener | None = None, say: Say | None = None,
                   attestors: Sequence[Attestor] = ()) -> FarmResult:
    """Build every requested platform on the builder's nodes; see the module docstring."""
    say = say or (lambda line: print(line, file=sys.stderr))
    policy = placement or builder.placement
    wanted = list(options.platforms) or [Platform.host()]
    nodes = builder.nodes()
    plans = {p: candidates(nodes, p, placement=policy, builder=builder.name) for p in wanted}
    first = {p: c[0][0] for p, c in plans.items()}
    if all(isinstance(n, LocalNode) for n in first.values()) and len({n.name for n in first.values()}) == 1:
        node = next(iter(first.values()))
        assert isinstance(node, LocalNode)
        placed = {p: Placed(node.name, node.endpoint, plans[p][0][1]) for p in wanted}
        if len(nodes) > 1:
            _announce(say, placed)
        result = build(dataclasses.replace(options, root=node.store_root()), client=client, listener=listener,
                       node=node, attestors=attestors)
        return FarmResult(result, placed)
    if any(c.kind == "local" for c in options.cache_from):
        raise UsageError("--cache-from type=local cannot be read by a builder's remote nodes (it is a directory "
                         "on this machine)", hint="export the cache with type=registry and import it from there")
    # an SBOM reads every platform's layers: they come back from the nodes to the client's store
    farm = _Farm(builder, options, push=push, fetch_blobs=fetch_blobs or bool(attestors), client=client,
                 listener=listener, say=say, placement=policy, attestors=attestors)
    return farm.run(plans)


def _announce(say: Say, placed: dict[Platform, Placed]) -> None:
    """One line per platform: the node, and whether it runs natively (only when a builder has several nodes)."""
    for platform, where in placed.items():
        say(f"{platform_label(platform)}: node {where.node} ({where.endpoint}, "
            f"{'emulated' if where.emulated else 'native'})")


class _Farm:
    def __init__(self, builder: Builder, options: BuildOptions, *, push: Sequence[Reference], fetch_blobs: bool,
                 client: Client, listener: progress.Listener | None, say: Say, placement: Placement,
                 attestors: Sequence[Attestor] = ()) -> None:
        self.builder = builder
        self.placement = placement
        self.cancelled = threading.Event()  # Ctrl-C or another platform failed: rotate no further
        self.options = options
        self.push = push
        self.fetch_blobs = fetch_blobs
        self.client = client
        self.listener = listener
        self.say = say
        self.content = ContentStore(client_store(builder) / "content")
        self.lock = threading.Lock()
        self.sessions: set[Any] = set()
        self._manifest: contextsync.Manifest | None = None
        self.requests: dict[Platform, SolveRequest] = {}
        # each --cache-to target's parts: (position of the platform in the build, platform, records)
        self.cache_parts: dict[CacheExport, list[tuple[int, str, CacheConfig]]] = {}
        self.order: list[Platform] = []
        # what the attest phase reads (phases/result.py): collected from every node's share
        self.attestors = tuple(attestors)
        self.scan = next((a.sbom_scan for a in attestors if isinstance(a, DescribesStages) and a.sbom_scan), None)
        self.graphs: dict[Platform, ops.State] = {}
        self.bases: dict[tuple[str, Platform], ResolvedBase] = {}
        self.stages: dict[Platform, tuple[tuple[str, tuple[Descriptor, ...]], ...]] = {}
        self.sbom_context: set[Platform] = set()

    def run(self, plans: dict[Platform, list[tuple[AnyNode, bool]]]) -> FarmResult:
        self.order = list(plans)
        images: dict[Platform, PlatformImage] = {}
        placed: dict[Platform, Placed] = {}
        ran = cached = 0
        local_group = {p: c for p, c in plans.items() if isinstance(c[0][0], LocalNode)}
        remote = {p: c for p, c in plans.items() if p not in local_group}
        self._plan(list(remote))
        with ThreadPoolExecutor(max_workers=len(remote) + 1, thread_name_prefix="dockyard-node") as pool:
            futures: dict[Future[Any], Platform] = {pool.submit(self._remote, p, c): p for p, c in remote.items()}
            try:
                if local_group:
                    local = self._local(local_group)
                    for p in local_group:
                        images[p] = local.images[p]
                        node = local_group[p][0]
                        placed[p] = Placed(node[0].name, node[0].endpoint, node[1])
                    ran, cached = local.ran, local.cached
                for future, platform in futures.items():
                    image, where, counts = future.result()
                    images[platform], placed[platform] = image, where
                    ran, cached = ran + counts[0], cached + counts[1]
            except BaseException:
                self.cancelled.set()
                with self.lock:
                    for session in list(self.sessions):
                        session.cancel()
                raise
        order = list(plans)
        self._export_cache()
        top = assemble(self.content, [images[p].descriptor for p in order], oci=self.options.oci_mediatypes,
                       annotations=self.options.annotations.index)
        result = BuildResult(descriptor=top, images={p: images[p] for p in order}, content=self.content, ran=ran,
                             cached=cached,
                             bases=tuple(self.bases.values()), graphs={p: self.graphs[p] for p in order},
                             stages=self.stages, sbom_context=frozenset(self.sbom_context))
        return FarmResult(attest(result, self.attestors), {p: placed[p] for p in order})

    # -- this machine ----------------------------------------------------------------------
    def _local(self, plans: dict[Platform, list[tuple[AnyNode, bool]]]) -> BuildResult:
        node = next(iter(plans.values()))[0][0]
        assert isinstance(node, LocalNode)
        for p, c in plans.items():
            self._say_placed(p, node.name, node.endpoint, c[0][1])
        solver = _Replying(node)
        result = build(self._share(tuple(plans), root=node.store_root()), client=self.client, listener=self.listener,
                       node=solver, attestors=(_ScanOnly(self.scan),) if self.scan else ())
        assert solver.reply is not None
        source = ContentStore(node.store_root() / "content")
        for part, manifest in solver.reply.caches.items():
            config = CacheConfig.from_bytes(source.read_bytes(_cache_config_digest(source, manifest)))
            self._add_cache_part(part, tuple(plans), config,
                                 lambda layers: _copy_blobs(source, self.content, layers))
        with self.lock:
            self.graphs.update(result.graphs)
            self.bases.update({(b.ref, b.platform): b for b in result.bases})
            self.sbom_context.update(result.sbom_context)
            self.stages.update(result.stages)
        for stages in result.stages.values():
            for _name, layers in stages:
                _copy_blobs(result.content, self.content, layers)
        for image in result.images.values():
            _copy_image(result.content, self.content, image)
            for target in self.push:
                self.client.push(Reference.parse(target.name, default_tag=None), image.descriptor, result.content)
        return result

    def _share(self, platforms: tuple[Platform, ...], *, root: Path) -> BuildOptions:
        """The build's options for one node's share of the platforms: index annotations stay with the
        client, which writes the index over every node's manifests; each registry or local
        ``--cache-to`` becomes a part the node exports untagged (the client merges the parts)."""
        annotations = self.options.annotations
        if len(self.options.platforms) > 1:
            annotations = ExportAnnotations(tuple(a for a in annotations.items if a.kind != "index"))
        return dataclasses.replace(self.options, platforms=platforms, root=root, annotations=annotations,
                                   cache_to=tuple(_part(c) for c in self.options.cache_to))

    def _stage_layers(self, platform: Platform, reply: dict[str, Any], session: Session) -> None:
        """The layers of the other stages the platform's SBOM describes, fetched from the node."""
        found = []
        for stage in reply.get("stages") or []:
            if Platform.parse(str(stage["platform"])) != platform:
                raise NodeError(f"node {session.node}: reported a stage of another platform than "
                                f"{platform_label(platform)}")
            layers = tuple(Descriptor.from_json(d, what="node stage") for d in stage["layers"])
            session.fetch(layers, self.content)
            found.append((str(stage["name"]), layers))
        if found:
            with self.lock:
                self.stages[platform] = tuple(found)

    # -- the cache over every node -----------------------------------------------------------
    def _add_cache_part(self, part: CacheExport, platforms: tuple[Platform, ...], config: CacheConfig,
                        fetch: Callable[[list[Descriptor]], None]) -> None:
        """Keep one node's records for ``part``'s target; a local target needs its blobs here too."""
        target = next((c for c in self.options.cache_to if _part(c) == part), None)
        if target is None:
            raise NodeError(f"a node exported a cache nobody asked for ({part.kind})")
        if target.kind == "local":
            fetch([Descriptor(layer.media_type, layer.digest, layer.size) for layer in config.layers()])
        position = min(self.order.index(p) for p in platforms)
        with self.lock:
            self.cache_parts.setdefault(target, []).append(
                (position, str(platforms[0]) if len(platforms) == 1 else "", config))

    def _export_cache(self) -> None:
        """One manifest per ``--cache-to`` over every node's part, in the build's platform order."""
        parts = {target: [(platform, config) for _pos, platform, config in sorted(found, key=lambda f: f[0])]
                 for target, found in self.cache_parts.items()}
        targets = [c for c in self.options.cache_to if c.kind != "inline"]
        cacheexport.export_merged(targets, parts, content=self.content, source=self.content, client=self.client,
                                  listener=self.listener)

    # -- remote nodes ----------------------------------------------------------------------
    def _remote(self, platform: Platform, plan: list[tuple[AnyNode, bool]]
                ) -> tuple[PlatformImage, Placed, tuple[int, int]]:
        """Try the platform's candidates in order; a local one (after dead remote ones) builds in-process."""
        reasons: list[str] = []
        label = platform_label(platform)
        for i, (node, planned_emulated) in enumerate(plan):
            if isinstance(node, LocalNode):
                local = self._local({platform: [(node, planned_emulated)]})
                return (local.images[platform], Placed(node.name, node.endpoint, planned_emulated, tuple(reasons)),
                        (local.ran, local.cached))
            if self.cancelled.is_set():
                break
            try:
                image, counts, emulated = self._on(node, platform)
            except NodeError as exc:
                if self.cancelled.is_set():
                    raise
                reason = exc.message.removeprefix(f"node {node.name}: ")
                reasons.append(f"{node.name}: {reason}")
                self.say(f"{label}: node {node.name} failed ({reason}); "
                         + ("trying the next node" if i + 1 < len(plan) else "no node left"))
                continue
            self._say_placed(platform, node.name, node.endpoint, emulated)
            return image, Placed(node.name, node.endpoint, emulated, tuple(reasons)), counts
        raise NodeError(f"{label}: no node could build it: " + "; ".join(reasons),
                        hint=f"see 'dockyard inspect --bootstrap {self.builder.name}'")

    def _on(self, node: SshNode | KubeNode, platform: Platform) -> tuple[PlatformImage, tuple[int, int], bool]:
        """Build ``platform`` on ``node``; the last item says whether the node's bootstrap found it emulated."""
        from dockyard.builders.kube import KubeNode

        if isinstance(node, KubeNode):  # a pod picked by the context (loadbalance=sticky)
            session = node.open(listener=self.listener, key=self._context_name())
        else:
            session = node.open(listener=self.listener)
        with self.lock:
            self.sessions.add(session)
        try:
            boot = session.bootstrap([platform])
            self.builder = self.builder.booted(node.record, boot)
            offered = [s for s in boot.platforms if s.platform == platform]
            if not offered:
                raise NodeError(f"node {node.name}: its bootstrap does not offer {platform}")
            emulated = all(s.emulated for s in offered)
            if emulated and self.placement is Placement.NATIVE_ONLY:
                raise NodeError(f"node {node.name}: emulates {platform_label(platform)} (--placement native-only)")
            manifest = self._context_manifest()
            before = session.channel.sent_bytes
            sent = session.sync_context(name=self._context_name(), manifest=manifest, context=self.options.context)
            files = contextsync.blobs_of(manifest)
            self.say(f"{platform_label(platform)}: context to node {node.name}: {sent} of {len(files)} files sent, "
                     f"{session.channel.sent_bytes - before} bytes")
            push = tuple(Reference.parse(t.name, default_tag=None).name for t in self.push)
            reply = session.solve(self.requests[platform], registries=self._registries(), push=push,
                                  registry=self.client)
            images = reply.get("images") or []
            if len(images) != 1 or Platform.parse(str(images[0].get("platform"))) != platform:
                raise NodeError(f"node {node.name}: answered with other images than {platform_label(platform)}")
            desc = Descriptor.from_json(images[0]["manifest"], what="node result")
            manifest_bytes = str(images[0]["manifest_bytes"]).encode()
            self.content.ingest_bytes(manifest_bytes, expected=desc.digest)
            built = Manifest.from_bytes(manifest_bytes, media_type=desc.media_type)
            config_bytes = str(images[0]["config_bytes"]).encode()
            self.content.ingest_bytes(config_bytes, expected=built.config.digest)
            if self.fetch_blobs:
                session.fetch(built.layers, self.content)
            self._stage_layers(platform, reply, session)
            for cache in reply.get("caches") or []:  # last: a node lost before this adds no part
                part = self.requests[platform].cache_to[int(cache["target"])]
                config = CacheConfig.from_bytes(str(cache["config_bytes"]).encode())
                self._add_cache_part(part, (platform,), config, lambda layers: session.fetch(layers, self.content))
            image = PlatformImage.of(desc, built, ImageConfig.from_bytes(config_bytes))
            return image, (int(reply.get("ran", 0)), int(reply.get("cached", 0))), emulated
        finally:
            with self.lock:
                self.sessions.discard(session)
            session.close()

    def _say_placed(self, platform: Platform, node: str, endpoint: str, emulated: bool) -> None:
        label = platform_label(platform)
        self.say(f"{label}: node {node} ({endpoint}, {'emulated' if emulated else 'native'})")
        if emulated:
            self.say(f"WARNING: {label} is emulated on node {node}: no native node is available")

    def _context_manifest(self) -> contextsync.Manifest:
        with self.lock:
            if self._manifest is None:
                patterns = dockerignore.load_for(self.options.context, self.options.dockerfile)
                stat_file = client_store(self.builder) / "statcache" / f"remote-{self._context_name()}.json"
                stat_cache = StatCache.load(stat_file)
                self._manifest = contextsync.describe(self.options.context, patterns=patterns, stat_cache=stat_cache)
                stat_file.parent.mkdir(parents=True, exist_ok=True)
                stat_cache.save(stat_file)
            return self._manifest

    def _context_name(self) -> str:
        where = f"{socket.gethostname()}:{self.options.context.resolve()}"
        return hashlib.sha256(where.encode()).hexdigest()[:24]

    def _plan(self, platforms: Sequence[Platform]) -> None:
        """The plan and key phases for each remote platform, here, one after another (they share the
        client store's stat cache); each node then receives its platform's serialized subgraph."""
        bases = BaseImages(self.client, self.content)
        for platform in platforms:
            options = self._share((platform,), root=self.content.root.parent)
            the_plan, request = planned_request(options, root=self.content.root.parent, bases=bases,
                                                sbom_scan=self.scan)
            self.requests[platform] = request
            for pp in the_plan.platforms:
                self.graphs[pp.platform] = pp.state
                if pp.sbom.context:
                    self.sbom_context.add(pp.platform)
        self.bases.update({(b.ref, b.platform): b for b in bases.resolved()})

    def _registries(self) -> dict[str, Any]:
        """The client's effective registry settings (registries.toml, the builder's config, hosts marked
        insecure for this push), so a node reaches each registry as the client would."""
        hosts = self.client.hosts
        names = set(hosts.hosts) | set(hosts.insecure)
        return {host: _host_json(hosts.hosts.get(host) or HostConfig(), insecure=host in hosts.insecure)
                for host in sorted(names)}


def _host_json(cfg: HostConfig, *, insecure: bool) -> dict[str, Any]:
    if cfg.keypairs:
        raise NotBuiltError("client certificates (keypair) are not sent to remote nodes yet")
    return {"mirrors": list(cfg.mirrors), "http": cfg.http, "insecure": cfg.insecure or insecure,
            "ca": [Path(p).read_text() for p in cfg.ca]}


def _copy_image(source: ContentStore, dest: ContentStore, image: PlatformImage) -> None:
    """Put an image's manifest, config and layers into ``dest`` (another local node's store)."""
    if source.root == dest.root:
        return
    _copy_blobs(source, dest, [image.descriptor, image.manifest.config, *image.layers])


class _Replying:
    """The local node as the build's solver, keeping its reply (the cache parts it exported)."""

    def __init__(self, node: LocalNode) -> None:
        self.node = node
        self.reply: SolveReply | None = None

    def solve(self, request: SolveRequest, *, client: Client, listener: progress.Listener | None = None) -> SolveReply:
        self.reply = self.node.solve(request, client=client, listener=listener)
        return self.reply


@dataclass(frozen=True)
class _ScanOnly:
    """For the build of this machine's share: the SBOM's stage scan planned and solved there, while the
    attestations themselves are made once, over every node's platforms (``attest`` leaves the share as is)."""

    sbom_scan: ScanRequest | None

    def attest(self, result: BuildResult) -> BuildResult:
        return result


def _part(target: CacheExport) -> CacheExport:
    """What a node is asked to export for ``target`` (inline cache stays in each node's image)."""
    return target if target.kind == "inline" else dataclasses.replace(target, part=True)


def _cache_config_digest(content: ContentStore, manifest: Descriptor) -> Digest:
    return Manifest.from_bytes(content.read_bytes(manifest.digest), media_type=manifest.media_type).config.digest


def _copy_blobs(source: ContentStore, dest: ContentStore, blobs: Sequence[Descriptor]) -> None:
    if source.root == dest.root:
        return
    for desc in blobs:
        if not dest.has(desc.digest):
            with source.open(desc.digest) as fh:
                dest.ingest(fh, expected=desc.digest)

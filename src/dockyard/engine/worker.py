"""The op worker: what the solver calls to look an op up in the cache and to execute it.

Every filesystem-producing op runs the same way: prepare a writable snapshot over its input's
stack, mount it, change it (runc for RUN, file operations for COPY/WORKDIR/...), commit the
upperdir as the new snapshot, and make the layer blob from that diff in one streaming pass
into the content store. The layer is made in the background (:meth:`OpWorker._in_background`):
the next step runs on the committed snapshot meanwhile, as only the image needs the blob (a
50 MB COPY's layer took ~85 ms that the RUN after it waited for; issue 17, edit1);
:meth:`OpWorker.finish` waits for them. The cache record (key -> snapshot + layer blobs of the
whole chain) is written last (in the background: :meth:`CacheDB.put_later`; a step whose chain
is still being written is recorded by ``finish``), so a killed build never leaves a record
pointing at half-made content.

Base images are unpacked once per layer chain (``chain:`` records keyed by the diff_ids so
far, like containerd's chain IDs), so images sharing a base share its snapshots.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard import cancel, gcpause
from dockyard.cancel import Cancelled
from dockyard.engine import mounts
from dockyard.engine.bases import BaseImages
from dockyard.engine.contextcheck import keyed_selection, read_as_keyed
from dockyard.engine.results import SCRATCH, ContextResult, FsResult, LayerRef, Result
from dockyard.errors import BuildError, NotBuiltError, filesystem_error
from dockyard.executor.base import Executor, KillsRunning, Network, RunRequest
from dockyard.graph import ops
from dockyard.oci.layer import LayerBlob, LayerOptions, make_layer, make_layer_of
from dockyard.oci.rootpath import remove_path, resolve
from dockyard.oci.tarfs import TarEntry
from dockyard.solver import Vertex
from dockyard.store.cache import CacheDB, LayerRecord
from dockyard.store.chains import record_chain, unpack_layers
from dockyard.store.content import ContentStore
from dockyard.store.snapshots import Active, Snapshot, Snapshotter

if TYPE_CHECKING:  # --cache-from's importer loads only when a build names one
    from dockyard.engine.cacheimport import ImportedCache
    from dockyard.graph.contenthash import ContextHasher


# layers written at once in the background: each already compresses on every core (LayerOptions.threads),
# so two overlap one's reading and hashing with the other's compression without a thread per core squared
_WRITERS = 2


@dataclass(frozen=True, eq=False)
class Node:
    """A graph op as the solver sees it: its pinned cache key, input nodes and display name."""

    op: ops.Op
    key: str
    inputs: tuple[Node, ...]
    name: str
    where: str = ""  # "Dockerfile:LINE", for error messages


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """What the worker needs from the build request."""

    context_dir: Path | None
    secrets: Mapping[str, mounts.Secret]
    ssh: Mapping[str, str]
    layer_options: LayerOptions
    no_cache: frozenset[str]  # keys that must run even when recorded
    root: Path  # the store root (cache mounts live under it)
    context_listing: ContextHasher | None = None  # SolveRequest.context_listing
    several_platforms: bool = False  # the solve builds more than one platform (COPY layers are shared)
    # keys of ops whose results another op of this solve reads as a file system (it mounts them)
    read_later: frozenset[str] = frozenset()


class OpWorker:
    """Implements :class:`dockyard.solver.Worker` over graph ops."""

    def __init__(self, *, snapshots: Snapshotter, cache: CacheDB, content: ContentStore, executor: Executor,
                 bases: BaseImages, config: WorkerConfig, imported: ImportedCache | None = None) -> None:
        self.snapshots = snapshots
        self.cache = cache
        self.content = content
        self.executor = executor
        self.bases = bases
        self.config = config
        self.imported = imported
        self._ingest = content.root / "ingest"
        self._empty_layer: LayerRecord | None = None
        self._lock = threading.Lock()  # the layers being written, and the shared ones by their entries
        self._copy_layers: dict[EqualEntries, Future[LayerRecord]] = {}
        self._copies: dict[EqualEntries, Future[Path | None]] = {}  # the first diff of equal COPYs
        self._anticipated = False
        self._ingest.mkdir(parents=True, exist_ok=True)
        # its threads start with the first layer written: a build served from the cache starts none
        self._writers = ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="dockyard-layer")
        self._writing: list[Future[LayerRecord]] = []
        self._recording: list[Future[None]] = []  # what only later builds read (engine/recopy.py)
        self._unrecorded: list[tuple[str, FsResult]] = []  # steps whose chain was still being written

    def written(self, within: float) -> bool:
        """Whether every layer written in the background is done, waiting up to ``within`` seconds."""
        return not wait(self._writing, timeout=within).not_done

    def finish(self) -> None:
        """Wait for every layer still being written, then queue the records of the steps that waited
        for one; the first failure to write a layer is raised (it names its step)."""
        wait(self._writing)
        wait(self._recording)
        for key, out in self._unrecorded:
            self.cache.put_later(key, snapshot=out.top, layers=out.layers)
        self._unrecorded.clear()

    def close(self) -> None:
        """Let the layers being written finish (a failed solve raises its own error), then stop the writers."""
        wait(self._writing)
        wait(self._recording)
        self._writers.shutdown()

    def cancel(self) -> None:
        """Stop running steps (the solve failed or was interrupted)."""
        if isinstance(self.executor, KillsRunning):
            self.executor.kill_running()

    # -- cache -----------------------------------------------------------------------------
    def cached(self, vertex: Vertex) -> Result | None:
        assert isinstance(vertex, Node)
        op = vertex.op
        if isinstance(op, ops.ContextSource):
            if self.config.context_dir is None:
                raise BuildError("the Dockerfile reads the build context, but no context directory was given")
            listing = self.config.context_listing
            same = listing is not None and listing.root == self.config.context_dir
            return ContextResult(self.config.context_dir, op.excludes, listing=listing if same else None)
        if vertex.key in self.config.no_cache:
            return None
        record = self.cache.get(vertex.key)
        if record is None or (record.snapshot is not None and not self.snapshots.exists(record.snapshot)):
            return self._imported(vertex.key)
        if not all(self.content.has(layer.digest) for layer in record.layers):
            return self._imported(vertex.key)
        return FsResult(record.snapshot, record.layers)

    def _imported(self, key: str) -> FsResult | None:
        """A result from ``--cache-from``: its blobs fetched only now, its chain unpacked, recorded."""
        layers = self.imported.lookup(key) if self.imported is not None else None
        if layers is None or self.imported is None:
            return None
        self.imported.fetch(layers, self.content)
        top = self.unpack_chain(layers)
        self.cache.put(key, snapshot=top, layers=layers)
        return FsResult(top, layers)

    # -- execution -------------------------------------------------------------------------
    def run(self, vertex: Vertex, inputs: Sequence[Result], log: Callable[[str], None],
            cancelled: threading.Event) -> Result:
        assert isinstance(vertex, Node)
        if not self._anticipated:  # something runs: most ops write a snapshot, so make one's directories ahead
            self._anticipated = True
            self.snapshots.anticipate()
        try:
            return self._run(vertex, inputs, log)
        except Cancelled:
            raise
        except BuildError as exc:  # every step error names its Dockerfile line (e.g. an unknown --chown user)
            if not vertex.where or exc.message.startswith(vertex.where):
                raise
            raise BuildError(f"{vertex.where}: {exc.message}", hint=exc.hint) from exc

    def _run(self, vertex: Node, inputs: Sequence[Result], log: Callable[[str], None]) -> Result:
        op = vertex.op
        label = f"{vertex.where}: {vertex.name}" if vertex.where else vertex.name
        results = dict(zip((id(i) for i in op.inputs), inputs, strict=True))

        def result_of(state: ops.State) -> Result:
            return SCRATCH if state is None else self._materialized(results[id(state)])

        try:
            if isinstance(op, ops.ImageSource):
                out = self._image(op)
            elif isinstance(op, ops.Exec):
                out = self._exec(op, label, result_of, log)
            elif isinstance(op, ops.Copy):
                out = self._copy(op, label, result_of, direct=vertex.key not in self.config.read_later)
            elif isinstance(op, ops.Mkdir | ops.Mkfile | ops.Rm):
                out = self._file(op, _fs(result_of(op.root), label), label)
            elif isinstance(op, ops.Merge):
                out = self._merge([_fs(result_of(s), label) for s in op.layers])
            elif isinstance(op, ops.HttpSource):
                out = self._http(op, label)
            else:
                raise NotBuiltError(f"{vertex.name}: {type(op).__name__} sources are not built yet",
                                    hint="ADD of git repositories is planned; clone in a RUN step meanwhile")
        except OSError as exc:  # a full or read-only store, an unreadable context file
            raise filesystem_error(exc, doing=label, fallback=self.config.root) from exc
        if out.written:
            self.cache.put_later(vertex.key, snapshot=out.top, layers=out.layers)  # solve.py flushes them
        else:
            self._unrecorded.append((vertex.key, out))
        return out

    def _image(self, op: ops.ImageSource) -> FsResult:
        pulled = self.bases.pull(op.ref, op.platform)
        layers = tuple(LayerRecord(digest=desc.digest, diff_id=diff_id, size=desc.size, media_type=desc.media_type)
                       for desc, diff_id in zip(pulled.manifest.layers, pulled.config.diff_ids, strict=True))
        return FsResult(self.unpack_chain(layers), layers)

    def unpack_chain(self, layers: Sequence[LayerRecord]) -> str | None:
        """The snapshot of ``layers`` (blobs in the content store) stacked bottom first.

        Base images and imported caches (``--cache-from``) go through the same chain-ID records
        (:mod:`dockyard.store.chains`), so a prefix they share is unpacked once per store, and
        every blob is checked against its diff_id: an imported cache is not trusted.
        """
        top = unpack_layers(self.snapshots, self.cache, [(self.content.path(layer.digest), layer) for layer in layers])
        return top.id if top is not None else None

    def _exec(self, op: ops.Exec, name: str, result_of: Callable[[ops.State], Result],
              log: Callable[[str], None]) -> FsResult:
        base = _fs(result_of(op.root), name)
        with self.snapshots.prepare(base.top) as active:
            rootfs = active.mount()
            step = mounts.prepare(op.mounts, sources=result_of, snapshots=self.snapshots,
                                  secrets=self.config.secrets, ssh=self.config.ssh, step=name,
                                  root=self.config.root)
            try:
                request = RunRequest(rootfs=rootfs, args=op.argv, env=[*op.env, *step.env], cwd=op.cwd or "/",
                                     user=op.user, network=Network(op.network),
                                     platform=op.platform, mounts=step.mounts)
                result = self.executor.run(request, on_output=lambda _s, line: log(line.decode(errors="replace")))
            finally:
                step.close()
            result.check(name)
            step.check_after_run()
            snap = active.commit()
        return FsResult(snap.id, (*base.chain, self._layer_ref(snap.diff, name)))

    def _copy(self, op: ops.Copy, name: str, result_of: Callable[[ops.State], Result], *, direct: bool) -> FsResult:
        """A COPY: archived straight from the context when ``direct`` and it only adds a new tree
        (:mod:`dockyard.engine.copylayer`), else copied through the mounted stack and its diff archived.

        Not direct when a later op of the build reads the result (``WorkerConfig.read_later``): that
        op mounts it, and unpacking the just-made layer cost more than copying through the overlay
        (a 50 MB COPY followed by a RUN on two platforms: ~0.3 s of unpacking per platform against
        ~0.1 s for the overlay copy and its diff; issue 17, edit1). When the copy is a plain new tree
        its entries still name the diff, so platforms whose entries are equal copy once: the first
        copies into its snapshot, the others link its files into theirs (:mod:`.difflink`), and one
        archive of that diff is every platform's layer. That holds because every copy from the
        context reads the files its key hashed or fails (:mod:`.contextcheck`). A copy made again
        after some of its files changed links the others from its last copy (:mod:`.recopy`)."""
        from dockyard.engine import recopy
        from dockyard.engine.copy import CopySpec, copy_into, resolve_chown
        from dockyard.engine.copylayer import layer_entries

        base = _fs(result_of(op.root), name)
        source = result_of(op.source)
        with self.snapshots.prepare(base.top) as active:
            dest = active.mount()
            with self._view(source) as source_root:
                spec = CopySpec(
                    paths=op.paths, dest=op.dest, workdir=op.workdir,
                    chown=resolve_chown(dest, op.chown) if op.chown else None, chmod=op.chmod,
                    excludes=op.excludes, parents=op.parents, unpack=op.unpack,
                    follow_symlinks=op.follow_symlinks, allow_wildcard=op.allow_wildcard,
                    from_context=isinstance(source, ContextResult),
                    context_excludes=source.excludes if isinstance(source, ContextResult) else (),
                )
                keyed = keyed_selection(source, spec.selection(), spec.context_excludes) if isinstance(
                    source, ContextResult) else None
                # the entries serve an archive straight from the context, the platforms sharing a copy,
                # and a copy made again from its last one (through an overlay's upperdir only: the copy
                # snapshotter writes a materialised tree); else they are not listed
                listed = direct or self.config.several_platforms or (keyed is not None and self.snapshots.overlay)
                with gcpause.paused():  # a tar entry per file, kept until the layer is written
                    entries = layer_entries(source_root=source_root, dest_root=dest, spec=spec,
                                            listing=source.listing if isinstance(source, ContextResult) else None,
                                            lowers=[s.diff for s in active.lowers],
                                            source_date_epoch=self.config.layer_options.source_date_epoch
                                            ) if listed else None
                if not direct or entries is None:
                    tree = entries if keyed is not None else None  # a plain new tree of keyed context files
                    lineage = recopy.Lineage(self.snapshots, source_root, base.top, spec, tree) if (
                        tree is not None and self.snapshots.overlay) else None

                    def one_pass(present: frozenset[bytes], remade: bool) -> None:
                        copy_into(source_root=source_root, dest_root=active.mount(), spec=spec,
                                  selected=keyed.selected if keyed is not None else None, present=present,
                                  remade=remade)

                    def copy() -> None:
                        with read_as_keyed(keyed, name, source_root, files=spec.unpack):
                            if lineage is None:
                                one_pass(frozenset(), False)
                            else:
                                lineage.copy(active, one_pass)

                    # equal entries in a solve of several platforms: they may share the copy
                    shared = EqualEntries(tree) if tree is not None and self.config.several_platforms else None
                    snap = self._copy_commit(active, shared, copy)
                    if lineage is not None:  # for the next copy; off the step's path (50,000 files: ~70 ms)
                        self._after(lambda: lineage.remember(snap))
                    if shared is None:
                        return FsResult(snap.id, (*base.chain, self._layer_ref(snap.diff, name)))
                    # the layer of equal entries is made once, from the first platform's diff
                    return FsResult(snap.id, (*base.chain, self._shared_layer(shared, name,
                                                                              lambda: self._layer(snap.diff))))
        assert entries is not None
        # archived from the context; the snapshot is made if a later step needs it
        if base.top is not None:  # then on top of this one, not from the base image up
            record_chain(self.cache, base.layers, base.top)

        def archive() -> LayerRecord:
            with read_as_keyed(keyed, name, source_root):
                return self._archive(entries)

        key = EqualEntries(entries) if self.config.several_platforms else None
        return FsResult(None, (*base.chain, self._shared_layer(key, name, archive)))

    def _copy_commit(self, active: Active, shared: EqualEntries | None, copy: Callable[[], None]) -> Snapshot:
        """Copy into ``active`` (or link the first platform's equal diff into it) and commit it.

        ``shared``: the copy's entries when its platforms may share it (None: it copies for itself).
        Every copy that reads the context checks that the files are those its key hashed, so copies
        with equal entries are equal, and the first one is every platform's."""
        donor, first = self._copy_donor(shared)
        committed: Path | None = None
        try:
            if first or donor is None or not self._linked(donor, active):
                copy()
            snap = active.commit()
            committed = snap.diff
        finally:
            if first and donor is not None:
                donor.set_result(committed)
        return snap

    def _copy_donor(self, key: EqualEntries | None) -> tuple[Future[Path | None] | None, bool]:
        """The first copy of equal entries in this solve (its committed diff, or None when it failed),
        and whether the caller is that first copy and must set it."""
        if key is None:
            return None, False
        with self._lock:
            donor = self._copies.get(key)
            if donor is None:
                donor = self._copies[key] = Future()
                return donor, True
        return donor, False

    def _linked(self, donor: Future[Path | None], active: Active) -> bool:
        """Make ``active``'s diff from the first platform's equal one, by hard links
        (:mod:`dockyard.engine.difflink`); False (``active``'s upperdir empty again, unmounted: the
        copy mounts it anew) when that diff cannot be shared. Waits for the first platform's copy, as
        the copy itself would take as long."""
        from dockyard.engine.difflink import NotLinkable, link_diff

        while True:
            try:
                diff = donor.result(timeout=0.05)
                break
            except FuturesTimeout:
                cancel.check()
        if diff is None:
            return False
        active.unmount()  # the upperdir is written directly: never under a mounted overlay
        try:
            link_diff(os.fsencode(diff), os.fsencode(active.upper))
            return True
        except (NotLinkable, OSError):
            for entry in active.upper.iterdir():
                remove_path(str(entry))
            return False

    def _shared_layer(self, key: EqualEntries | None, name: str, make: Callable[[], LayerRecord]) -> LayerRef:
        """The layer of a COPY of a plain new tree from the context, made once per solve for equal entries.

        The platforms of a build copy the same files into the same new tree, so their entries (names,
        metadata, the host files read) are equal and so are the layers, whether archived from the
        context or from a platform's diff (:mod:`dockyard.engine.copylayer`: a test builds both
        ways): the first platform makes it, the others' chains hold the same blob being written
        (issue 17: a 50 MB COPY was compressed once per platform, ~0.25 s each). ``key`` None (a
        solve of one platform): nothing to share."""
        if key is None:
            return self._in_background(name, make)
        with self._lock:
            pending = self._copy_layers.get(key)
            if pending is None:
                pending = self._copy_layers[key] = self._submit(name, make)
        return pending

    def _in_background(self, name: str, make: Callable[[], LayerRecord]) -> Future[LayerRecord]:
        """Write a step's layer while later steps run (see :meth:`_submit`)."""
        with self._lock:
            return self._submit(name, make)

    def _after(self, write: Callable[[], None]) -> None:
        """Write something only a later build reads (best effort, it raises nothing) while this one
        goes on; the solve still waits for it to end, as for the layers."""
        with self._lock:
            self._recording.append(self._writers.submit(write))

    def _submit(self, name: str, make: Callable[[], LayerRecord]) -> Future[LayerRecord]:
        """Queue ``make`` on the writers (the caller holds the lock): a failure names the step, as the
        step's own would, and an interrupted build stops it as it stops the step (the step's cancel
        event goes along)."""
        event = cancel.current()

        def write() -> LayerRecord:
            try:
                with cancel.bound(event) if event is not None else contextlib.nullcontext():
                    return make()
            except OSError as exc:
                raise filesystem_error(exc, doing=name, fallback=self.config.root) from exc

        pending = self._writers.submit(write)
        self._writing.append(pending)
        return pending

    def _archive(self, entries: list[TarEntry]) -> LayerRecord:
        with gcpause.paused():
            layer = make_layer_of(entries, self._ingest, options=self.config.layer_options)
        return self._store_layer(layer)

    def _materialized(self, result: Result) -> Result:
        """``result`` with its snapshot: a COPY archived straight from the context (a layer and no
        snapshot yet) is unpacked now, once per store (chain records), as a later step reads it."""
        if isinstance(result, FsResult) and result.top is None and result.layers:
            return FsResult(self.unpack_chain(result.layers), result.layers)
        return result

    @contextlib.contextmanager
    def _view(self, source: Result) -> Iterator[Path]:
        """A read-only look at a source: the context directory, or a stage's mounted stack."""
        if isinstance(source, ContextResult):
            yield source.directory
            return
        with self.snapshots.prepare(source.top) as view:
            yield view.mount()

    def _file(self, op: ops.Mkdir | ops.Mkfile | ops.Rm, base: FsResult, name: str) -> FsResult:
        with self.snapshots.prepare(base.top) as active:
            root = active.mount()
            if isinstance(op, ops.Mkdir):
                from dockyard.engine.copy import make_dirs, resolve_chown

                make_dirs(root, op.path, chown=resolve_chown(root, op.chown) if op.chown else None, mode=op.mode)
            elif isinstance(op, ops.Mkfile):
                parent = resolve(root, os.path.dirname(op.path) or "/", create_dirs=True)
                path = os.path.join(parent, os.fsencode(os.path.basename(op.path)))
                with open(path, "wb") as handle:
                    handle.write(op.data.encode())
                os.chmod(path, op.mode)
            else:
                target = resolve(root, op.path, follow_last=False)
                if not os.path.lexists(target) and not op.allow_not_found:
                    raise BuildError(f"rm {op.path}: no such file or directory")
                remove_path(target)
            snap = active.commit()
        return FsResult(snap.id, (*base.chain, self._layer_ref(snap.diff, name)))

    def _merge(self, parts: list[FsResult]) -> FsResult:
        """Stack the layers of ``parts[1:]`` (made on scratch) on ``parts[0]`` by replaying their diffs."""
        top, layers = parts[0].top, list(parts[0].chain)
        for part in parts[1:]:
            for snap in self.snapshots.chain(part.top):
                with self.snapshots.prepare(top) as active:
                    subprocess.run(["cp", "-a", f"{snap.diff}/.", str(active.upper)], check=True,
                                   capture_output=True)
                    top = active.commit().id
            layers += part.chain
        return FsResult(top, tuple(layers))

    def _http(self, op: ops.HttpSource, name: str) -> FsResult:
        from dockyard.engine.fetch import fetch_url

        with self.snapshots.prepare(None) as active:
            fetch_url(op.url, active.upper, checksum=op.checksum, filename=op.filename)
            snap = active.commit()
        return FsResult(snap.id, (self._layer_ref(snap.diff, name),))

    def _layer_ref(self, diff: Path, name: str) -> LayerRef:
        """The layer of step ``name``'s committed diff: written in the background, unless the diff is
        empty (a step that changed nothing) and its blob made already."""
        with os.scandir(diff) as listing:
            empty = next(listing, None) is None
        if empty and self._empty_layer is not None and self.content.has(self._empty_layer.digest):
            return self._empty_layer
        return self._in_background(name, lambda: self._layer(diff, empty=empty))

    def _layer(self, diff: Path, *, empty: bool = False) -> LayerRecord:
        """The layer blob of a committed diff, moved into the content store.

        An ``empty`` diff always makes the same blob for the build's layer options: it is made once per
        worker, not once per step (starting the threaded compressor for it cost ~2.5 ms a step)."""
        record = self._store_layer(make_layer(diff, self._ingest, options=self.config.layer_options))
        if empty:
            self._empty_layer = record
        return record

    def _store_layer(self, blob: LayerBlob) -> LayerRecord:
        final = self.content.path(blob.digest)
        if final.exists():
            blob.path.unlink()
        else:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(blob.path, final)
        return LayerRecord(digest=blob.digest, diff_id=blob.diff_id, size=blob.size, media_type=blob.media_type)


class EqualEntries:
    """A COPY's tar entries as the key of what platforms share, hashed once: hashing a tuple of
    50,000 entries takes ~7 ms, and the key is looked up several times per platform."""

    __slots__ = ("_hash", "entries")

    def __init__(self, entries: Sequence[TarEntry]) -> None:
        self.entries = tuple(entries)
        self._hash = hash(self.entries)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EqualEntries) and other._hash == self._hash and other.entries == self.entries


def _fs(result: Result, name: str) -> FsResult:
    if isinstance(result, ContextResult):
        raise BuildError(f"{name}: the build context cannot be used as a root filesystem")
    return result


def pin(key: str, *parts: str) -> str:
    """A vertex key: the frontend's key extended with what it cannot know (base digests, options)."""
    return "sha256:" + hashlib.sha256("\0".join((key, *parts)).encode()).hexdigest()


__all__ = ["Node", "OpWorker", "WorkerConfig", "pin"]

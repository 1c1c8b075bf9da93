"""The registry client a library user (and the build engine) calls: push, pull, copy, resolve.

Images are handed over as descriptors plus a place to read blobs from (a
:class:`~dockyard.store.content.ContentStore` or an OCI layout's ``.store``): the engine builds
into the store, then calls :meth:`Client.push` with the top descriptor (a manifest or an index).

Order of a push, so a tag never names something incomplete, whatever fails and whenever:
every blob (concurrently, skipping present ones, mounting from repositories of the same
registry where the client has seen them), then each platform manifest by digest, then the
index, then the tags. The index goes by digest when nothing tags it or referrers name it;
otherwise its first tag's PUT stores it (one request less, as BuildKit pushes). A failure
raises before the first tag is written, and the first tag is written after every part.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from functools import partial
from typing import TYPE_CHECKING, BinaryIO

from dockyard.digest import CHUNK, Digest, verify
from dockyard.errors import RegistryError, StoreError
from dockyard.oci import mediatypes
from dockyard.oci.config import ImageConfig
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import PlatformImage
from dockyard.oci.index import Index
from dockyard.oci.manifest import Manifest
from dockyard.oci.source import ContentSource, walk
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.hosts import HostsConfig
from dockyard.registry.keychain import Keychain
from dockyard.registry.options import TransportOptions, UploadOptions
from dockyard.registry.watch import DEFAULT_PUSH_TIMEOUT, Watch, reporting
from dockyard.store.content import ContentStore

if TYPE_CHECKING:
    # The HTTP side (httpx) loads when the first session opens, not when a Client is made:
    # a build that contacts no registry never imports it (tests/integration/build/test_startup_imports.py).
    from dockyard.registry.manifests import Fetched
    from dockyard.registry.transport import Session

Progress = Callable[[str, Descriptor], None]  # (status, descriptor): "exists", "mounted", "uploaded", "pulled", ...


def as_reference(ref: Reference | str) -> Reference:
    return ref if isinstance(ref, Reference) else Reference.parse(ref)


class Client:
    """A pool of registry sessions with shared credentials, TLS settings and retry policy.

    Keyword-only options: ``hosts`` (registries.toml, certs.d, insecure hosts), ``keychain``
    (credentials), ``transport`` (timeouts, retries, an httpx transport for tests), ``upload``
    (chunk size), ``concurrency`` (blobs moved at once), ``progress`` (a callback per blob),
    ``push_timeout`` (seconds a whole :meth:`push` may take; None: no limit) and ``on_wait``
    (told what a push has been waiting for, once a request has taken more than a few seconds).
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, *, hosts: HostsConfig | None = None, keychain: Keychain | None = None,
                 transport: TransportOptions | None = None, upload: UploadOptions | None = None,
                 concurrency: int = 4, progress: Progress | None = None,
                 push_timeout: float | None = DEFAULT_PUSH_TIMEOUT,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.hosts = hosts if hosts is not None else HostsConfig.load()
        self.keychain = keychain if keychain is not None else Keychain.default()
        self.transport = transport or TransportOptions()
        self.upload = upload or UploadOptions()
        self.concurrency = max(1, concurrency)
        self.progress = progress
        self.push_timeout = push_timeout
        self.on_wait = on_wait
        self.watch = Watch()
        self._owner = True  # False in a for_build view: the sessions are the client's to close
        self._closed = threading.Event()  # shared with for_build views, which may still ping
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._known: dict[Digest, set[tuple[str, str]]] = {}
        # (registry, repository, tag): resolved once per build, in a client made by for_build (None: ask each time)
        self._tags: dict[tuple[str, str, str], Descriptor] | None = None
        self._tag_locks: dict[tuple[str, str, str], threading.Lock] = {}

    def for_build(self) -> Client:
        """This client for one build: its sessions, credentials and options, and a memory of tags.

        In it each tag resolves once (a build sees one digest per base tag, whatever it lints,
        plans and solves, for every platform) and to what the build itself set it to; the next
        build, given another :meth:`for_build`, asks the registry again. A client that is a build's
        already is returned as it is (the CLI's Dockerfile check and the build it precedes share one).
        Close this client, not the view: the view's :meth:`close` leaves the shared sessions open.
        """
        if self._tags is not None:
            return self
        view = copy.copy(self)
        view._tags = {}
        view._tag_locks = {}
        view._owner = False
        return view

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._owner:
            return
        with self._lock:
            self._closed.set()
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()

    def session(self, host: str) -> Session:
        """The session for a registry API host (``host[:port]``), created on first use."""
        from dockyard.registry.transport import Session

        with self._lock:
            if host not in self._sessions:
                self._sessions[host] = Session(host, hosts=self.hosts, keychain=self.keychain,
                                               options=self.transport, watch=self.watch)
            return self._sessions[host]

    def connect_early(self, hosts: Iterable[str]) -> None:
        """Ping these registry hosts in the background while the caller does other work (a build
        before its push): the scheme, the auth challenge and a kept-alive connection are ready when
        the first real request goes out. A failure is forgotten: that first request pings again and
        raises it, as it would have without this."""
        for host in sorted(set(hosts)):
            threading.Thread(target=self._ping_quietly, args=(host,), name=f"ping {host}", daemon=True).start()

    def _ping_quietly(self, host: str) -> None:
        if self._closed.is_set():
            return
        with contextlib.suppress(Exception):  # the first real request meets it again, and reports it
            self.session(host).ping(keep_failure=False)

    def _note(self, status: str, desc: Descriptor) -> None:
        if self.progress is not None:
            self.progress(status, desc)

    def remember(self, ref: Reference, digests: Iterable[Digest]) -> None:
        """Record that ``ref``'s repository holds these blobs (for cross-repository mounts)."""
        with self._lock:
            for digest in digests:
                self._known.setdefault(digest, set()).add((ref.api_host, ref.repository))

    def _mount_candidates(self, target: Reference, digest: Digest) -> tuple[str, ...]:
        with self._lock:
            places = self._known.get(digest, set())
            return tuple(sorted(repo for host, repo in places
                                if host == target.api_host and repo != target.repository))[:2]

    # -- reading ------------------------------------------------------------------------------------
    def _read_sessions(self, ref: Reference) -> list[Session]:
        """Mirrors first (pull-through caches from registries.toml), then the registry itself."""
        mirrors = self.hosts.get(ref.registry).mirrors
        return [*(self.session(m) for m in mirrors), self.session(ref.api_host)]

    def fetch_manifest(self, ref: Reference | str, identifier: str | None = None, *,
                       store: ContentStore | None = None, fresh: bool = False) -> Fetched:
        """The document ``ref`` names (or ``identifier`` in its repository), verified when by digest.

        A tag is resolved to a digest first (:meth:`resolve`: once per build unless ``fresh``), and
        a document ``store`` already holds is read from it: a warm build's bases cost one HEAD each.
        """
        from dockyard.registry import manifests

        ref = as_reference(ref)
        ident = identifier or ref.identifier
        if ":" not in ident:  # a tag (a digest is ALGORITHM:HEX)
            resolved = self.resolve(ref, fresh=fresh)
            ident = str(resolved.digest)
            if store is not None and store.has(resolved.digest):
                return manifests.parsed(store.read_bytes(resolved.digest), content_type=resolved.media_type)
        elif store is not None and store.has(digest := Digest.parse(ident)):
            return manifests.parsed(store.read_bytes(digest))
        fetched = self._get_manifest(ref, ident)
        if ref.digest is not None and identifier is None:
            verify(ref.digest, fetched.descriptor.digest, what=str(ref))
        return fetched

    def _get_manifest(self, ref: Reference, ident: str) -> Fetched:
        from dockyard.registry import manifests

        sessions = self._read_sessions(ref)
        for session in sessions[:-1]:
            try:
                return manifests.get(session, ref.repository, ident)
            except RegistryError:
                continue
        return manifests.get(sessions[-1], ref.repository, ident)

    def resolve(self, ref: Reference | str, *, fresh: bool = False) -> Descriptor:
        """The descriptor (media type, digest, size) of what a tag or digest names.

        A tag is resolved with a HEAD, as containerd's resolver does (``Resolve`` in
        remotes/docker/resolver.go: HEAD, then GET only when no Docker-Content-Digest comes
        back); a registry counts no pull for a HEAD. In a client made by :meth:`for_build`, a
        tag is resolved once per build, and tags the build set resolve to what it set.
        ``fresh`` asks the registry again: for tags whose current value is the point (a
        signature tag read by ``verify`` must be what the registry serves now, not what this
        build saw or wrote earlier).
        """
        ref = as_reference(ref)
        if ref.digest is not None:
            return self.fetch_manifest(ref).descriptor
        memo = self._tags
        if memo is None:
            return self._head_manifest(ref) or self._get_manifest(ref, ref.identifier).descriptor
        key = (ref.registry, ref.repository, ref.identifier)
        with self._lock:
            lock = self._tag_locks.setdefault(key, threading.Lock())
        with lock:
            if fresh or key not in memo:
                memo[key] = self._head_manifest(ref) or self._get_manifest(ref, ref.identifier).descriptor
            return memo[key]

    def _head_manifest(self, ref: Reference) -> Descriptor | None:
        """The descriptor a HEAD of ``ref``'s tag answers (mirrors first); None: no usable answer."""
        from dockyard.registry import manifests

        for session in self._read_sessions(ref):
            try:
                found = manifests.head(session, ref.repository, ref.identifier)
            except RegistryError:
                continue
            if found is not None and found.media_type:
                return found
        return None

    def fetch_blob(self, ref: Reference, desc: Descriptor, store: ContentStore) -> None:
        from dockyard.registry import blobs

        if store.has(desc.digest):
            return
        sessions = self._read_sessions(ref)
        for session in sessions[:-1]:
            try:
                blobs.fetch(session, ref.repository, desc, store)
                return
            except RegistryError:
                continue
        blobs.fetch(sessions[-1], ref.repository, desc, store)
        self._note("pulled", desc)

    def pull(self, ref: Reference | str, *, platform: Platform | None = None,
             store: ContentStore | None = None, layers: bool = True) -> PlatformImage:
        """Pull one platform's image (manifest, config, layers) into ``store`` (default: the shared one).

        A tag naming an index resolves to the entry for ``platform`` (default: this host's).
        ``layers=False`` stops at the manifest and config (planning needs no more); fetch the
        layers later with :meth:`fetch_layers`.
        """
        from dockyard.registry.manifests import Fetched

        ref = as_reference(ref)
        store = store or ContentStore.default()
        top = self.fetch_manifest(ref, store=store)
        store.ingest_bytes(top.data, expected=top.descriptor.digest)
        index_desc = None
        chosen = top
        if mediatypes.is_index(top.descriptor.media_type):
            index_desc = top.descriptor
            entry = Index.from_bytes(top.data).select(platform or Platform.host())
            chosen = self.fetch_manifest(ref, str(entry.digest), store=store)
            store.ingest_bytes(chosen.data, expected=entry.digest)
            chosen = Fetched(entry, chosen.data)
        manifest = Manifest.from_bytes(chosen.data, media_type=chosen.descriptor.media_type)
        parts = (manifest.config, *manifest.layers) if layers else (manifest.config,)
        self._run_all([partial(self.fetch_blob, ref, d, store) for d in parts])
        self.remember(ref, [manifest.config.digest, *(d.digest for d in manifest.layers)])
        config = ImageConfig.from_bytes(store.read_bytes(manifest.config.digest))
        return PlatformImage.of(chosen.descriptor, manifest, config, index=index_desc)

    def fetch_layers(self, ref: Reference | str, image: PlatformImage, store: ContentStore) -> None:
        """The layer blobs of ``image`` (pulled from ``ref`` with ``layers=False``) into ``store``, those
        missing only."""
        ref = as_reference(ref)
        self._run_all([partial(self.fetch_blob, ref, d, store) for d in image.layers])

    def pull_all(self, ref: Reference | str, *, store: ContentStore | None = None,
                 blobs_too: bool = True) -> Descriptor:
        """Pull everything ``ref`` names (every platform of an index) into ``store``; returns the top."""
        ref = as_reference(ref)
        store = store or ContentStore.default()
        top = self.fetch_manifest(ref)
        store.ingest_bytes(top.data, expected=top.descriptor.digest)
        tasks: list[Callable[[], None]] = []
        children = [top.descriptor]
        if mediatypes.is_index(top.descriptor.media_type):
            children = list(Index.from_bytes(top.data).manifests)
            for child in children:
                if not store.has(child.digest):
                    fetched = self.fetch_manifest(ref, str(child.digest))
                    store.ingest_bytes(fetched.data, expected=child.digest)
        for child in children:
            data = store.read_bytes(child.digest)
            if not mediatypes.is_manifest(child.media_type):
                continue
            manifest = Manifest.from_bytes(data, media_type=child.media_type)
            parts = (manifest.config, *manifest.layers)
            self.remember(ref, [d.digest for d in parts])
            if blobs_too:
                tasks += [partial(self.fetch_blob, ref, d, store) for d in parts]
            else:
                self.fetch_blob(ref, manifest.config, store)
        self._run_all(tasks)
        return top.descriptor

    # -- writing ------------------------------------------------------------------------------------
    def push(self, target: Reference | str, desc: Descriptor, source: ContentSource, *,
             tags: Sequence[str] = (), referrers: Sequence[Manifest] = ()) -> Descriptor:
        """Push the image or index ``desc`` (read from ``source``) to ``target``'s repository.

        ``target``'s tag (if any) and ``tags`` are set last, after everything they point at is
        in the registry, ``referrers`` (artifacts whose subject is one of the pushed manifests,
        e.g. attestations) included. Returns ``desc``. Raises a RegistryError subclass on failure, a
        :class:`~dockyard.registry.watch.DeadlineExceededError` once ``push_timeout`` has passed.
        """
        target = as_reference(target)
        session = self.session(target.api_host)
        data, children, layers = walk(source, desc)
        with self.watch.deadline(self.push_timeout, f"push to {target.registry}/{target.repository}"), \
                reporting(self.watch, self.on_wait):
            self._push_blobs(session, target, list(layers.values()), source)
            if mediatypes.is_index(desc.media_type):
                self._run_all([partial(self._put, session, target, c, b) for c, b in children])
            if referrers or not tag_names(target, tags):
                # referrers name it as their subject: it is in the registry before them
                self._put(session, target, desc, data)
            # else the first tag's PUT stores it (as BuildKit's push does: containerd PUTs the root by its tag)
            for artifact in referrers:
                self.push_referrer(target, artifact, source)
            self.tag(target, desc, data, tags=tags)
        return desc

    def tag(self, target: Reference | str, desc: Descriptor, data: bytes, *, tags: Sequence[str] = ()) -> None:
        """Point ``target``'s tag and ``tags`` at ``desc`` (``data`` its bytes), which must be pushed already."""
        from dockyard.registry import manifests

        target = as_reference(target)
        session = self.session(target.api_host)
        for tag in tag_names(target, tags):
            manifests.put(session, target.repository, tag, desc.media_type, data)
            if self._tags is not None:
                with self._lock:
                    self._tags[(target.registry, target.repository, tag)] = desc
            self._note("tagged", desc)

    def verify_pushed(self, target: Reference | str, desc: Descriptor) -> Descriptor | None:
        """What ``target``'s repository serves for ``desc``'s digest (None when it has nothing)."""
        from dockyard.registry import manifests

        target = as_reference(target)
        return manifests.head(self.session(target.api_host), target.repository, str(desc.digest), push_scope=True)

    def push_referrer(self, target: Reference | str, manifest: Manifest, source: ContentSource) -> bool:
        """Push an artifact ``manifest`` whose ``subject`` is in ``target``'s repository (blobs first).

        True when the registry indexed it through its referrers API, False when the referrers
        tag schema's index (``sha256-HEX``) was updated instead (:mod:`dockyard.registry.referrers`).
        """
        from dockyard.registry import referrers

        target = as_reference(target)
        session = self.session(target.api_host)
        self._run_all([partial(self._push_blob, session, target, d, source)
                       for d in (manifest.config, *manifest.layers)])
        return referrers.put_referrer(session, target.repository, manifest)

    def referrers(self, ref: Reference | str, digest: Digest, *, artifact_type: str | None = None) -> list[Descriptor]:
        """The artifacts whose subject is ``digest`` in ``ref``'s repository (API, else the fallback tag)."""
        from dockyard.registry import referrers

        ref = as_reference(ref)
        return referrers.list_referrers(self.session(ref.api_host), ref.repository, digest, artifact_type)

    def _push_blobs(self, session: Session, target: Reference, parts: Sequence[Descriptor],
                    source: ContentSource) -> None:
        """Every platform's blobs in one pool, largest first: the big layer never starts last, alone.

        A blob bigger than all the others together is the push's critical path: it gets a head
        start (its check and upload opening go out alone; the rest follow once its bytes flow). In
        a traced push2 bench run (issue 17) its bytes began 5-10 ms sooner: its HEAD and POST took
        ~6 ms alone against 14-25 ms beside three other uploads on a loaded two-core machine."""
        biggest_first = sorted(parts, key=lambda d: d.size, reverse=True)
        tasks = [partial(self._push_blob, session, target, d, source) for d in biggest_first]
        if len(tasks) > 1 and biggest_first[0].size > max(CHUNK, sum(d.size for d in biggest_first[1:])):
            ahead = threading.Event()
            tasks[0] = partial(self._push_blob, session, target, biggest_first[0], source, sending=ahead.set)
            self._run_all(tasks, head_start=ahead)
        else:
            self._run_all(tasks)

    def _push_blob(self, session: Session, target: Reference, desc: Descriptor, source: ContentSource, *,
                   sending: Callable[[], None] | None = None) -> None:
        from dockyard.registry import blobs

        status = blobs.push(session, target.repository, desc, source,
                            mount_from=self._mount_candidates(target, desc.digest), options=self.upload,
                            sending=sending)
        self.remember(target, [desc.digest])
        self._note(status, desc)

    def _put(self, session: Session, target: Reference, desc: Descriptor, data: bytes) -> None:
        from dockyard.registry import manifests

        manifests.put(session, target.repository, str(desc.digest), desc.media_type, data)
        self._note("manifest", desc)

    def copy(self, src: Reference | str, dst: Reference | str, *, store: ContentStore | None = None,
             tags: Sequence[str] = ()) -> Descriptor:
        """Copy what ``src`` names (all platforms) to ``dst``; blobs are mounted when both are on
        one registry, else fetched into ``store`` only when ``dst`` lacks them."""
        src, dst = as_reference(src), as_reference(dst)
        store = store or ContentStore.default()
        top = self.pull_all(src, store=store, blobs_too=False)
        source = FetchingSource(self, src, store)
        for part in walk(store, top)[2].values():
            source.expect(part)
        return self.push(dst, top, source, tags=tags)

    def _run_all(self, tasks: Sequence[Callable[[], None]], *, head_start: threading.Event | None = None) -> None:
        """Run tasks ``concurrency`` at a time; the first failure is raised once running ones end.

        With ``head_start``, the first task runs alone until it sets the event (or ends)."""
        if not tasks:
            return
        if len(tasks) == 1 or self.concurrency == 1:
            for task in tasks:
                task()
            return
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(tasks))) as pool:
            futures = [pool.submit(tasks[0])]
            if head_start is not None:
                futures[0].add_done_callback(lambda _first: head_start.set())
                head_start.wait()
            futures += [pool.submit(task) for task in tasks[1:]]
            _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in futures:
                error = None if future.cancelled() else future.exception()
                if error is not None:
                    raise error


def tag_names(target: Reference, tags: Sequence[str]) -> list[str]:
    """The tags a push sets: ``target``'s own, then ``tags`` (each once)."""
    return ([target.tag] if target.tag else []) + [t for t in dict.fromkeys(tags) if t != target.tag]


class FetchingSource:
    """A ContentSource over ``store`` that fetches a missing blob from the repository it came from.

    Copies use it so that blobs the target already has, or can mount, are never downloaded.
    """

    def __init__(self, client: Client, origin: Reference, store: ContentStore) -> None:
        self.client = client
        self.origin = origin
        self.store = store
        self._where: dict[Digest, tuple[Descriptor, Reference]] = {}

    def expect(self, desc: Descriptor, origin: Reference | None = None) -> None:
        """``desc`` may be asked for; it lives in ``origin``'s repository (default: the source's)."""
        self._where.setdefault(desc.digest, (desc, origin or self.origin))

    def open(self, digest: Digest) -> BinaryIO:
        if not self.store.has(digest):
            found = self._where.get(digest)
            if found is None:
                raise StoreError(f"blob {digest} is neither in the store nor listed by the copied manifests")
            self.client.fetch_blob(found[1], found[0], self.store)
        return self.store.open(digest)

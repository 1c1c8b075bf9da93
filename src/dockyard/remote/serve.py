"""The node side: ``dockyard node serve --stdio`` answers one client's requests until stdin closes.

A reader thread takes every frame off stdin: requests go to the main thread's queue, answers
to credential questions go to the waiting keychain, and ``cancel`` (or stdin closing: ssh
died, the client was killed) sends the node process a SIGINT, exactly a local build's Ctrl-C,
so the solver kills the running steps. Replies and progress events go to stdout;
nothing else may write there (logging goes to stderr).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform as host_platform
import queue
import signal
import threading
from pathlib import Path
from typing import Any, BinaryIO

from dockyard import __version__, progress
from dockyard.builders.local import LocalNode
from dockyard.builders.protocol import agents, contextsync, wire
from dockyard.builders.protocol.frames import PROTOCOL, Channel, Message
from dockyard.builders.records import NodeRecord
from dockyard.errors import DockyardError, NodeError
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.manifest import Manifest
from dockyard.paths import data_root
from dockyard.platform import Platform
from dockyard.reference import Reference
from dockyard.registry.hosts import HostConfig, HostsConfig
from dockyard.registry.keychain import Credentials, Keychain
from dockyard.store.content import ContentStore


class _AskingKeychain(Keychain):
    """Credentials for a registry host, asked of the client when the node first needs them.

    The node never reads a docker config: the client answers from its own keychain, for this
    session only, and only for the hosts the node actually contacts.
    """

    def __init__(self, server: _Server) -> None:
        super().__init__(None, None)
        object.__setattr__(self, "_server", server)

    def lookup(self, host: str) -> Credentials | None:
        server: _Server = object.__getattribute__(self, "_server")
        return server.ask_credentials(host)


class _Server:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.requests: queue.Queue[Message | None] = queue.Queue()
        self.answers: queue.Queue[Message] = queue.Queue()
        self.builder = "remote"
        self.node = "node"
        self.solving = threading.Event()
        self.context_name = ""
        self.manifest: contextsync.Manifest = {}
        self.agents = agents.NodeAgents(channel)

    @property
    def root(self) -> Path:
        return data_root() / "builders" / self.builder / self.node

    # -- reader thread ---------------------------------------------------------------------
    def read_loop(self) -> None:
        cache = contextsync.ContextCache(self.root / "contexts")
        try:
            while True:
                message = self.channel.receive()
                if message is None:
                    break
                kind = message["type"]
                if kind == "blob":
                    cache = contextsync.ContextCache(self.root / "contexts")
                    cache.ingest(str(message["digest"]).removeprefix("sha256:"), self.channel.blob_chunks(message))
                elif kind == "credentials":
                    self.answers.put(message)
                elif kind in agents.KINDS:
                    self.agents.handle(message)
                elif kind == "cancel":
                    if self.solving.is_set():
                        _interrupt_main()
                else:
                    self.requests.put(message)
        except NodeError as exc:  # a malformed frame: say so (one line) and end the session
            _reply_failed(self.channel, {"type": "frame"}, "NodeError", exc)
        self.requests.put(None)
        if self.solving.is_set():
            _interrupt_main()  # the client is gone: stop the steps, nobody waits for them

    def ask_credentials(self, host: str) -> Credentials | None:
        self.channel.send({"type": "credentials?", "host": host})
        answer = self.answers.get()
        if not any(answer.get(k) for k in ("username", "identity_token", "registry_token")):
            return None
        return Credentials(username=str(answer.get("username", "")), password=str(answer.get("password", "")),
                           identity_token=str(answer.get("identity_token", "")),
                           registry_token=str(answer.get("registry_token", "")),
                           expires_in=float(answer.get("expires_in") or 0))

    # -- requests --------------------------------------------------------------------------
    def handle(self, message: Message) -> None:
        kind = message["type"]
        handler = {"hello": self.hello, "bootstrap": self.bootstrap, "context": self.context,
                   "solve": self.solve, "fetch": self.fetch}.get(kind)
        if handler is None:
            raise NodeError(f"unknown request type {kind!r}")
        handler(message)

    def hello(self, message: Message) -> None:
        self.builder = _name(message.get("builder", "remote"))
        self.node = _name(message.get("node", "node"))
        self.channel.send({"type": "hello", "protocol": PROTOCOL, "dockyard": __version__,
                           "machine": host_platform.machine(), "hostname": host_platform.node(),
                           "store_root": str(self.root)})

    def bootstrap(self, message: Message) -> None:
        """The local bootstrap, run once: later sessions reuse what it proved while that still holds
        (the store exists, the emulators it found are still registered), as a local build does."""
        platforms = tuple(Platform.parse(p) for p in message.get("platforms", []))
        saved = self.root / "boot.json"
        boot = None
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, DockyardError):
            boot = wire.boot_from_json(json.loads(saved.read_text()))
        still = boot is not None and boot.version == __version__ and set(platforms) <= {
            s.platform for s in boot.platforms} and LocalNode(
                NodeRecord(name=self.node, platforms=platforms, boot=boot), self.root).status() == "running"
        if boot is None or not still:
            boot = LocalNode(NodeRecord(name=self.node, platforms=platforms), self.root).bootstrap()
            tmp = saved.with_name(f".boot.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(wire.boot_to_json(boot)))
            os.replace(tmp, saved)
        self.channel.send({"type": "booted", **wire.boot_to_json(boot)})

    def context(self, message: Message) -> None:
        self.context_name = _name(message["name"])
        self.manifest = message["manifest"]
        want = contextsync.ContextCache(self.root / "contexts").missing(self.manifest)
        self.channel.send({"type": "want", "digests": want})

    def solve(self, message: Message) -> None:
        from dockyard.engine.solve import LocalSolver
        from dockyard.registry.client import Client

        cache = contextsync.ContextCache(self.root / "contexts")
        hosts = HostsConfig(hosts={h: _host_config(c, self.root) for h, c in message.get("registries", {}).items()})
        with cache.tree(self.context_name, self.manifest) as tree, \
                Client(hosts=hosts, keychain=_AskingKeychain(self)) as client, \
                self.agents.listening(wire.forwarded_agents(message), run_dir=self.root / "run") as sockets:
            request, push = wire.solve_from_json(message, context=tree)
            request = dataclasses.replace(request, ssh=sockets)
            self.solving.set()
            try:
                reply = LocalSolver(self.root).solve(request, client=client.for_build(),
                                                     listener=_Forward(self.channel))
            finally:
                self.solving.clear()
            content = ContentStore(self.root / "content")
            for image in reply.images.values():
                for repo in push:
                    client.push(Reference.parse(repo, default_tag=None), image.descriptor, content)
        images = [{"platform": str(platform), "manifest": image.descriptor.to_json(),
                   "manifest_bytes": content.read_bytes(image.descriptor.digest).decode(),
                   "config_bytes": content.read_bytes(image.manifest.config.digest).decode()}
                  for platform, image in reply.images.items()]
        # each --cache-to part (pushed by digest, or kept here for the client to fetch): the client merges them
        caches = [{"target": i, "manifest": reply.caches[target].to_json(),
                   "config_bytes": _cache_config(content, reply.caches[target])}
                  for i, target in enumerate(request.cache_to) if target in reply.caches]
        stages = [{"platform": str(platform), "name": name, "layers": [d.to_json() for d in layers]}
                  for platform, found in reply.stages.items() for name, layers in found]
        self.channel.send({"type": "result", "images": images, "caches": caches, "stages": stages,
                           "ran": reply.ran, "cached": reply.cached})

    def fetch(self, message: Message) -> None:
        """Stream the blobs the client asks for (non-push outputs: the platform image comes back)."""
        from dockyard.digest import Digest

        content = ContentStore(self.root / "content")
        for raw in message.get("digests", []):
            digest = Digest.parse(str(raw))
            if not content.has(digest):
                raise NodeError(f"blob {digest} is not in the node's store")
            with content.open(digest) as fh:
                self.channel.send_blob(str(digest), content.size(digest), fh)
        self.channel.send({"type": "fetched"})


def _cache_config(content: ContentStore, manifest: Descriptor) -> str:
    """The config blob of a cache manifest in ``content`` (canonical JSON text)."""
    image = Manifest.from_bytes(content.read_bytes(manifest.digest), media_type=manifest.media_type)
    return content.read_bytes(image.config.digest).decode()


def _interrupt_main() -> None:
    """Ctrl-C for the main thread: a real SIGINT, which (unlike ``_thread.interrupt_main``) also wakes a
    main thread blocked waiting for running steps, so the solver's cancel path kills them."""
    os.kill(os.getpid(), signal.SIGINT)


class _Forward:
    """Progress events to the client, as rawjson-shaped objects (the client prefixes the node name)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __call__(self, event: progress.Event) -> None:
        self.channel.send({"type": "event", "kind": type(event).__name__, **dataclasses.asdict(event)})


def _name(value: Any) -> str:
    text = str(value)
    if not text or not all(c.isalnum() or c in "-_." for c in text) or text.startswith("."):
        raise NodeError(f"invalid name {text!r}")
    return text


def _host_config(doc: dict[str, Any], root: Path) -> HostConfig:
    """A registry's settings as the client sent them; CA certificates arrive as PEM text."""
    cas: list[Path] = []
    for i, pem in enumerate(doc.get("ca", [])):
        path = root / "session-ca" / f"{os.getpid()}-{i}.pem"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(pem))
        cas.append(path)
    return HostConfig(mirrors=tuple(doc.get("mirrors", [])), http=bool(doc.get("http")),
                      insecure=bool(doc.get("insecure")), ca=tuple(cas))


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer requests until stdin closes; every failure is a ``failed`` reply, never a traceback."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if whoever started us ignored SIGINT
    channel = Channel(stdin, stdout, peer="client")
    server = _Server(channel)
    threading.Thread(target=server.read_loop, name="dockyard-node-reader", daemon=True).start()
    while True:
        try:
            message = server.requests.get()
        except KeyboardInterrupt:  # a cancel that arrived just after a solve ended
            continue
        if message is None:
            return 0
        try:
            server.handle(message)
        except KeyboardInterrupt:
            _reply_failed(channel, message, "cancelled", NodeError("cancelled by the client"))
        except DockyardError as exc:
            _reply_failed(channel, message, type(exc).__name__, exc)
        except Exception as exc:  # a bug on the node: report it as one line, keep serving
            _reply_failed(channel, message, "NodeError", NodeError(f"{type(exc).__name__}: {exc}"))


def _reply_failed(channel: Channel, request: Message, kind: str, exc: DockyardError) -> None:
    with contextlib.suppress(NodeError):
        channel.send({"type": "failed", "request": request.get("type"), "error": kind, "message": exc.message,
                      "hint": exc.hint})




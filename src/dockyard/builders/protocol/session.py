"""The client side of one session with a remote node: start the transport, then speak the protocol.

A session is one far-side process (``ssh ... dockyard node serve --stdio``, a pod exec, or a
plain subprocess in tests) for one platform's work. Every way it can go wrong that is the
node's fault (cannot start, another version, died mid-build) is a :class:`NodeError`, which
the placement loop answers by trying the next node; a build step's failure is re-raised as
the error class the node reported (any node would fail the same way).
"""

from __future__ import annotations

import collections
import contextlib
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from dockyard import __version__, errors, progress
from dockyard.builders.protocol import agents, contextsync, scopedauth, wire
from dockyard.builders.protocol.agents import ClientAgents
from dockyard.builders.protocol.frames import PROTOCOL, Channel, Message
from dockyard.builders.records import BootRecord
from dockyard.engine.solverequest import SolveRequest
from dockyard.errors import DockyardError, NodeError
from dockyard.oci.descriptor import Descriptor
from dockyard.platform import Platform
from dockyard.registry.client import Client
from dockyard.store.content import ContentStore

# Errors a node may report that mean "this node cannot do it", not "the build is wrong".
_NODE_FAULTS = frozenset({"NodeError", "HostError", "StoreError", "cancelled"})


class Session:
    """One connection to a node. Use as a context manager; :meth:`cancel` may be called from any thread."""

    def __init__(self, argv: Sequence[str], *, node: str, builder: str,
                 listener: progress.Listener | None = None) -> None:
        self.node = node
        self.builder = builder
        self.listener = listener or (lambda _e: None)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=5)
        try:
            self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise NodeError(f"node {node}: cannot start {argv[0]}: {exc.strerror}") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.channel = Channel(cast(BinaryIO, self.proc.stdout), cast(BinaryIO, self.proc.stdin), peer=f"node {node}")
        self._stderr = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr.start()
        self.hello_reply: Message = {}
        self.agents: ClientAgents | None = None  # while a solve runs
        self._scoped: tuple[Client, dict[str, tuple[str, ...]]] | None = None  # while a solve runs

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self.stderr_tail.append(line)

    # -- requests --------------------------------------------------------------------------
    def hello(self) -> Message:
        """Versions must match exactly: the node computes cache keys and images with its own code."""
        reply = self._request({"type": "hello", "protocol": PROTOCOL, "dockyard": __version__,
                               "builder": self.builder, "node": self.node}, "hello")
        theirs = (reply.get("protocol"), reply.get("dockyard"))
        if theirs != (PROTOCOL, __version__):
            raise NodeError(f"node {self.node} runs dockyard {theirs[1]} (protocol {theirs[0]}), this client "
                            f"dockyard {__version__} (protocol {PROTOCOL})",
                            hint=f"install dockyard {__version__} on the node")
        self.hello_reply = reply
        return reply

    def bootstrap(self, platforms: Sequence[Platform]) -> BootRecord:
        reply = self._request({"type": "bootstrap", "platforms": [str(p) for p in platforms]}, "booted")
        return wire.boot_from_json(reply)

    def sync_context(self, *, name: str, manifest: contextsync.Manifest, context: Path) -> int:
        """Send the manifest, then the files the node lacks; returns how many were sent."""
        reply = self._request({"type": "context", "name": name, "manifest": manifest}, "want")
        sizes = contextsync.blobs_of(manifest)
        paths = {e[4]: rel for rel, e in manifest.items() if e[0] == "f"}
        wanted = [str(d) for d in reply.get("digests", [])]
        for digest in wanted:
            if digest not in sizes:
                raise NodeError(f"node {self.node} asked for a context blob that is not in the manifest")
            with open(context / paths[digest], "rb") as fh:
                self.channel.send_blob(f"sha256:{digest}", sizes[digest], fh)
        return len(wanted)

    def solve(self, request: SolveRequest, *, registries: dict[str, Any], push: tuple[str, ...],
              registry: Client) -> Message:
        """Send the platform's portable solve request; the ``result`` names each image built (and pushed).
        While it runs, the node's connections to a forwarded ``--ssh`` agent are relayed here, and its
        credential questions are answered with tokens ``registry`` fetches for the solve's scopes
        (:mod:`.scopedauth`)."""
        message = wire.solve_to_json(request, registries=registries, push=push)
        self.agents = ClientAgents(self.channel, {i: request.ssh[i] for i in message["ssh"]})
        self._scoped = (registry, scopedauth.solve_scopes(request, push, hosts=registry.hosts))
        try:
            return self._request(message, "result")
        finally:
            self.agents.close()
            self.agents = None
            self._scoped = None

    def fetch(self, descriptors: Sequence[Descriptor], content: ContentStore) -> None:
        """Copy the blobs ``content`` lacks from the node's store (non-push outputs)."""
        missing = [str(d.digest) for d in descriptors if not content.has(d.digest)]
        if not missing:
            return
        self.channel.send({"type": "fetch", "digests": missing})
        while True:
            message = self._next()
            if message["type"] == "blob":
                with content.writer(expected=None, size=int(message["size"])) as writer:
                    for chunk in self.channel.blob_chunks(message):
                        writer.write(chunk)
            elif message["type"] == "fetched":
                return
            else:
                self._unexpected(message, "fetched")

    def cancel(self) -> None:
        with contextlib.suppress(NodeError):
            self.channel.send({"type": "cancel"})

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    # -- the read loop ---------------------------------------------------------------------
    def _request(self, message: Message, answer: str) -> Message:
        try:
            self.channel.send(message)
        except NodeError as exc:  # the node went away before reading: say what ssh said, as for a read
            raise self._lost(exc.message) from None
        while True:
            reply = self._next()
            if reply["type"] == answer:
                return reply
            self._unexpected(reply, answer)

    def _next(self) -> Message:
        """The next frame that is not an event or a credentials question (those are handled here)."""
        while True:
            try:
                reply = self.channel.receive()
            except NodeError as exc:
                raise self._lost(exc.message) from None
            if reply is None:
                raise self._lost("connection closed")
            kind = reply["type"]
            if kind == "event":
                self._event(reply)
            elif kind == "credentials?":
                self._answer_credentials(str(reply.get("host", "")))
            elif kind in agents.KINDS:
                if self.agents is not None:
                    self.agents.handle(reply)
            else:
                return reply

    def _unexpected(self, reply: Message, answer: str) -> None:
        if reply["type"] == "failed":
            kind = str(reply.get("error", "NodeError"))
            text = f"node {self.node}: {reply.get('message', 'failed')}"
            if kind in _NODE_FAULTS:
                raise NodeError(text, hint=reply.get("hint"))
            cls = getattr(errors, kind, DockyardError)
            if not (isinstance(cls, type) and issubclass(cls, DockyardError)):
                cls = DockyardError
            raise cls(text, hint=reply.get("hint"))
        raise NodeError(f"node {self.node}: expected {answer!r}, got {reply['type']!r}")

    def _lost(self, why: str) -> NodeError:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        self._stderr.join(timeout=1)
        last = self.stderr_tail[-1] if self.stderr_tail else ""
        code = self.proc.returncode
        why = why.removeprefix(f"node {self.node}: ")  # the channel names its peer already
        detail = f"{why}; {last}" if last else why
        if code not in (None, 0):
            detail += f" (exit {code})"
        return NodeError(f"node {self.node}: {detail}")

    def _event(self, reply: Message) -> None:
        cls: Callable[..., progress.Event] | None = {
            "Started": progress.Started, "Cached": progress.Cached, "Log": progress.Log,
            "Done": progress.Done, "Failed": progress.Failed}.get(str(reply.get("kind")))
        if cls is None:
            return
        fields = {k: v for k, v in reply.items() if k not in ("type", "kind")}
        if "name" in fields:
            fields["name"] = f"[{self.node}] {fields['name']}"
        with contextlib.suppress(TypeError):  # an event shape this client does not know: never fatal
            self.listener(cls(**fields))

    def _answer_credentials(self, host: str) -> None:
        if self._scoped is not None and host:
            scoped = scopedauth.answer(self._scoped[0], host, self._scoped[1])
            if scoped.get("username") or scoped.get("identity_token"):  # Basic only: say so, as BuildKit does
                vertex = f"auth:{host}"
                self.listener(progress.Started(vertex, name=f"[{self.node}] [auth] sharing credentials for {host}"))
                self.listener(progress.Done(vertex))
            self.channel.send(scoped)
        else:  # no solve, nothing to push or pull: no credentials
            self.channel.send({"type": "credentials", "host": host})

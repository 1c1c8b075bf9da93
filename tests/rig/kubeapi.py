"""A fake Kubernetes API server for the kubernetes driver's tests (no real cluster can run here).

It answers what the driver calls, and checks each request as a real API server would:
  - Deployments (apps/v1): create (201), read (200/404), replace (200; resourceVersion must match,
    else 409), delete; the object must have apiVersion apps/v1, kind Deployment, a DNS-1123
    name, the URL's namespace, a non-empty spec.selector.matchLabels that the template's labels
    contain, containers with a name and an image, quantities that parse, a string-valued
    nodeSelector: otherwise 422 with a Status object (reason Invalid), as the API answers.
  - Pods (v1): a Deployment's replicas become pods (Pending, then Running and Ready shortly after,
    as the kubelet reports them); list with labelSelector; watch (``watch=true``) streams
    newline-delimited ADDED/MODIFIED/DELETED events after the given resourceVersion, then ends
    at timeoutSeconds (as the API does).
  - Exec: ``GET .../pods/NAME/exec`` upgraded to a websocket with the v5 (or v4) channel protocol;
    ``command``, ``stdin``, ``stdout``, ``stderr`` and ``tty=false`` query parameters required;
    the command runs here as the "container" (PATH finds the checkout's dockyard; each pod has its
    own DOCKYARD_ROOT); channel 0 is its stdin (v5 close closes it), 1/2 its stdout/stderr, 3 the
    final Status (Success, or NonZeroExitCode with an ExitCode cause).
  - Every request needs ``Authorization: Bearer <token>`` (401 otherwise).
What it does not model: scheduling on real nodes, images, admission, RBAC, server-side apply.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "fake-token-for-tests"
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}, status=code)


@dataclass
class FakeCluster:
    """The server's state; tests read ``requests`` and ``deployments``."""

    workdir: Path
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    execs: list[dict[str, Any]] = field(default_factory=list)
    version: int = 100
    ready_after: float = 0.3

    def bump(self) -> str:
        self.version += 1
        return str(self.version)

    def pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        pod["metadata"]["resourceVersion"] = self.bump()
        self.events.append((self.version, kind, json.loads(json.dumps(pod))))


class FakeApiServer:
    """Runs the fake on 127.0.0.1 in a thread; ``kubeconfig`` points a client at it."""

    def __init__(self, workdir: Path) -> None:
        self.cluster = FakeCluster(workdir)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> FakeApiServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        r = app.router
        deps = "/apis/apps/v1/namespaces/{ns}/deployments"
        r.add_post(deps, self.create_deployment)
        r.add_get(deps + "/{name}", self.read_deployment)
        r.add_put(deps + "/{name}", self.replace_deployment)
        r.add_delete(deps + "/{name}", self.delete_deployment)
        r.add_get("/api/v1/namespaces/{ns}/pods", self.list_pods)
        r.add_get("/api/v1/namespaces/{ns}/pods/{name}/exec", self.exec)
        r.add_post("/api/v1/namespaces/{ns}/pods/{name}/exec", self.exec)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)  # watches still open end at once
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "tester", "user": {"token": TOKEN}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}]}))
        return path

    # -- middleware --------------------------------------------------------------------------
    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        self.cluster.requests.append((request.method, request.path, dict(request.query)))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized", "Unauthorized")
        result: web.StreamResponse = await handler(request)
        return result

    # -- deployments -------------------------------------------------------------------------
    def _invalid(self, obj: Any, ns: str) -> str | None:
        """What the API server's validation would say about a Deployment, or None."""
        if not isinstance(obj, dict) or obj.get("apiVersion") != "apps/v1" or obj.get("kind") != "Deployment":
            return "the object is not an apps/v1 Deployment"
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if not _DNS.match(name) or len(name) > 63:
            return f"metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 label must consist of ..."
        if meta.get("namespace", ns) != ns:
            return "the namespace of the provided object does not match the namespace sent on the request"
        spec = obj.get("spec") or {}
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not match:
            return "spec.selector: Required value"
        if any(labels.get(k) != v for k, v in match.items()):
            return "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"
        if not isinstance(spec.get("replicas", 1), int) or spec.get("replicas", 1) < 0:
            return "spec.replicas: Invalid value"
        return self._invalid_pod(template.get("spec") or {})

    @staticmethod
    def _invalid_pod(pod: dict[str, Any]) -> str | None:
        containers = pod.get("containers") or []
        if not containers:
            return "spec.template.spec.containers: Required value"
        for i, c in enumerate(containers):
            where = f"spec.template.spec.containers[{i}]"
            if not _DNS.match(c.get("name", "")):
                return f"{where}.name: Invalid value"
            if not c.get("image"):
                return f"{where}.image: Required value"
            bad = [f"{kind}[{res}]: Invalid value: {q!r}" for kind, values in (c.get("resources") or {}).items()
                   for res, q in values.items() if not _QUANTITY.match(str(q))]
            if bad:
                return f"{where}.resources.{bad[0]}"
            if not isinstance((c.get("securityContext") or {}).get("privileged", False), bool):
                return f"{where}.securityContext.privileged: Invalid value"
        if not all(isinstance(v, str) for v in (pod.get("nodeSelector") or {}).values()):
            return "spec.template.spec.nodeSelector: Invalid value"
        return None

    async def create_deployment(self, request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        obj = await request.json()
        why = self._invalid(obj, ns)
        if why:
            return _status(422, "Invalid", f"Deployment.apps is invalid: {why}")
        name = obj["metadata"]["name"]
        if (ns, name) in self.cluster.deployments:
            return _status(409, "AlreadyExists", f'deployments.apps "{name}" already exists')
        obj["metadata"].update(namespace=ns, uid=f"uid-{name}", resourceVersion=self.cluster.bump(), generation=1)
        self.cluster.deployments[(ns, name)] = obj
        self._reconcile(ns, name)
        return web.json_response(obj, status=201)

    async def read_deployment(self, request: web.Request) -> web.Response:
        key = (request.match_info["ns"], request.match_info["name"])
        if key not in self.cluster.deployments:
            return _status(404, "NotFound", f'deployments.apps "{key[1]}" not found')
        return web.json_response(self.cluster.deployments[key])

    async def replace_deployment(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        obj = await request.json()
        current = self.cluster.deployments.get((ns, name))
        if current is None:
            return _status(404, "NotFound", f'deployments.apps "{name}" not found')
        why = self._invalid(obj, ns) or (None if obj["metadata"].get("name") == name else "metadata.name mismatch")
        if why:
            return _status(422, "Invalid", f"Deployment.apps is invalid: {why}")
        if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            return _status(409, "Conflict", "the object has been modified; please apply your changes to the latest "
                                            "version and try again")
        obj["metadata"].update(namespace=ns, uid=current["metadata"]["uid"], resourceVersion=self.cluster.bump(),
                               generation=current["metadata"]["generation"] + 1)
        self.cluster.deployments[(ns, name)] = obj
        self._reconcile(ns, name)
        return web.json_response(obj)

    async def delete_deployment(self, request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        if self.cluster.deployments.pop((ns, name), None) is None:
            return _status(404, "NotFound", f'deployments.apps "{name}" not found')
        for key, pod in list(self.cluster.pods.items()):
            if key[0] == ns and pod["metadata"]["ownerName"] == name:
                del self.cluster.pods[key]
                self.cluster.pod_event("DELETED", pod)
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}})

    def _reconcile(self, ns: str, name: str) -> None:
        """The controller and kubelet: as many pods as replicas, Pending, then Running and Ready."""
        dep = self.cluster.deployments[(ns, name)]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        owned = [k for k, p in self.cluster.pods.items() if k[0] == ns and p["metadata"]["ownerName"] == name]
        for i in range(len(owned), int(dep["spec"].get("replicas", 1))):
            pod_name = f"{name}-{dep['metadata']['generation']}abc{i}"
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": pod_name, "namespace": ns, "labels": dict(labels), "ownerName": name,
                                "uid": f"uid-{pod_name}"},
                   "spec": json.loads(json.dumps(dep["spec"]["template"]["spec"])),
                   "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}}
            self.cluster.pods[(ns, pod_name)] = pod
            self.cluster.pod_event("ADDED", pod)
            self.loop.call_later(self.cluster.ready_after, self._run_pod, ns, pod_name)

    def _run_pod(self, ns: str, name: str) -> None:
        pod = self.cluster.pods.get((ns, name))
        if pod is None:
            return
        pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        self.cluster.pod_event("MODIFIED", pod)

    # -- pods --------------------------------------------------------------------------------
    def _selected(self, ns: str, selector: str) -> list[dict[str, Any]]:
        wanted = dict(pair.split("=", 1) for pair in selector.split(",") if pair)
        return [p for (pns, _), p in sorted(self.cluster.pods.items()) if pns == ns
                and all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]

    async def list_pods(self, request: web.Request) -> web.StreamResponse:
        ns = request.match_info["ns"]
        selector = request.query.get("labelSelector", "")
        if request.query.get("watch") not in ("true", "1"):
            return web.json_response({"kind": "PodList", "apiVersion": "v1",
                                      "metadata": {"resourceVersion": str(self.cluster.version)},
                                      "items": self._selected(ns, selector)})
        since = int(request.query.get("resourceVersion") or self.cluster.version)
        timeout = float(request.query.get("timeoutSeconds", "30"))
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        deadline = self.loop.time() + timeout
        wanted = {p["metadata"]["name"] for p in self._selected(ns, selector)}
        while self.loop.time() < deadline:
            for version, kind, pod in [e for e in self.cluster.events if e[0] > since]:
                since = version
                if pod["metadata"]["namespace"] == ns and (pod["metadata"]["name"] in wanted or
                                                           self._selected_pod(pod, selector)):
                    await response.write(json.dumps({"type": kind, "object": pod}).encode() + b"\n")
            await asyncio.sleep(0.05)
        await response.write_eof()
        return response

    @staticmethod
    def _selected_pod(pod: dict[str, Any], selector: str) -> bool:
        wanted = dict(pair.split("=", 1) for pair in selector.split(",") if pair)
        return all(pod["metadata"]["labels"].get(k) == v for k, v in wanted.items())

    async def exec(self, request: web.Request) -> web.StreamResponse:
        ns, name = request.match_info["ns"], request.match_info["name"]
        pod = self.cluster.pods.get((ns, name))
        if pod is None:
            return _status(404, "NotFound", f'pods "{name}" not found')
        if pod["status"]["phase"] != "Running":
            return _status(400, "BadRequest", f"pod {name} is not running")
        command = request.query.getall("command", [])
        flags = {k: request.query.get(k) for k in ("stdin", "stdout", "stderr", "tty")}
        if not command or flags["stdout"] != "true" or flags["tty"] not in (None, "false"):
            return _status(400, "BadRequest", "you must specify a command with stdout, without tty")
        protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if request.headers.get("Upgrade", "").lower() != "websocket" or not ({V5, V4} & set(protocols)):
            return _status(400, "BadRequest", "exec needs a websocket upgrade with a channel.k8s.io protocol")
        ws = web.WebSocketResponse(protocols=[V5, V4])
        await ws.prepare(request)
        self.cluster.execs.append({"pod": name, "command": command, **flags, "protocol": ws.ws_protocol})
        code = await self._run_in_pod(ws, name, command)
        status = {"metadata": {}, "status": "Success"} if code == 0 else {
            "metadata": {}, "status": "Failure", "message": f"command terminated with non-zero exit code: {code}",
            "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        if not ws.closed:
            await ws.send_bytes(b"\x03" + json.dumps(status).encode())
            await ws.close()
        return ws

    async def _run_in_pod(self, ws: web.WebSocketResponse, pod: str, command: list[str]) -> int:
        """The "container": ``command`` as a local process, its stdio on channels 0/1/2; its exit code."""
        env = {**os.environ, "DOCKYARD_ROOT": str(self.cluster.workdir / "pods" / pod),
               "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
        proc = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                    env=env)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        stdin = proc.stdin

        async def pump(stream: asyncio.StreamReader, channel: int) -> None:
            while chunk := await stream.read(1 << 16):
                await ws.send_bytes(bytes([channel]) + chunk)

        async def feed() -> None:
            async for msg in ws:
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    break
                data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                if data[:1] == b"\x00":
                    stdin.write(data[1:])
                    await stdin.drain()
                elif data[:2] == b"\xff\x00":  # v5 CLOSE of stdin
                    stdin.close()
            if not stdin.is_closing():
                stdin.close()

        pumps = [asyncio.ensure_future(pump(proc.stdout, 1)), asyncio.ensure_future(pump(proc.stderr, 2))]
        feeder = asyncio.ensure_future(feed())
        code = await proc.wait()
        await asyncio.gather(*pumps)
        feeder.cancel()
        return code

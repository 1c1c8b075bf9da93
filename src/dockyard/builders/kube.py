"""Kubernetes nodes: a Deployment of dockyard pods, reached through the API's exec stream.

One node = one Deployment ``dockyard-<builder>-<node>`` in the chosen namespace, its pods placed
by ``nodeselector`` (typically ``kubernetes.io/arch=arm64``, so each platform builds natively).
The pods run ``sleep infinity``; a build execs ``dockyard node serve --stdio`` in one of them and
speaks the same protocol as over SSH (docs/remote-nodes.md), through the bridge process
:mod:`dockyard.remote.kubeexec` (the API's exec websocket, via the official ``kubernetes``
client, which reads the kubeconfig: contexts, exec credential plugins and proxies work). No
Service, no open port.

Why a Deployment (not on-demand Jobs): a build execs into a pod that is already running, so it
pays no scheduling, image pull or container start, and the pod's store (an emptyDir at
/var/lib/dockyard) keeps its cache from one build to the next for as long as the pod lives.
Jobs would start every build cold. ``replicas`` > 1 spreads builds over pods
(``loadbalance=sticky`` picks one by the build context's path, ``random`` any).

Options (``--driver-opt``, comma-separated, quote a value holding commas or ``=``):
``namespace`` (default ``default``), ``replicas`` (1), ``image`` (``dockyard-node:<version>``, see
deploy/node/Dockerfile), ``nodeselector`` (``k=v`` pairs joined by ``,`` inside quotes),
``rootless`` (``false``: privileged pods, as runc, overlayfs and binfmt need; ``true``: uid 1000,
not privileged, seccomp and AppArmor unconfined as BuildKit's rootless pods), ``requests.cpu``,
``requests.memory``, ``limits.cpu``, ``limits.memory``, ``timeout`` (seconds to wait for a ready
pod, 120), ``loadbalance`` (``sticky`` or ``random``), ``context`` (kubeconfig context).
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard import __version__, progress
from dockyard.builders.records import BootRecord
from dockyard.builders.remotenode import RemoteNode
from dockyard.errors import UsageError

if TYPE_CHECKING:
    from dockyard.builders.protocol.session import Session

SCHEME = "kubernetes://"
OPTIONS = ("namespace", "replicas", "image", "nodeselector", "rootless", "requests.cpu", "requests.memory",
           "limits.cpu", "limits.memory", "timeout", "loadbalance", "context")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def parse_driver_opts(values: Sequence[str]) -> dict[str, str]:
    """``--driver-opt`` values (each a CSV line of ``key=value``) as a dict; unknown keys are errors."""
    out: dict[str, str] = {}
    for value in values:
        for item in next(csv.reader([value])):
            key, sep, val = item.partition("=")
            key = key.strip()
            if not sep:
                raise UsageError(f"invalid --driver-opt {item!r}", hint="use KEY=VALUE")
            if key not in OPTIONS:
                raise UsageError(f"unknown kubernetes driver option {key!r}", hint="options: " + ", ".join(OPTIONS))
            out[key] = val
    return out


@dataclass(frozen=True)
class KubeOptions:
    """The driver options of one node, validated."""

    namespace: str = "default"
    replicas: int = 1
    image: str = f"dockyard-node:{__version__}"
    node_selector: tuple[tuple[str, str], ...] = ()
    rootless: bool = False
    requests: tuple[tuple[str, str], ...] = ()
    limits: tuple[tuple[str, str], ...] = ()
    timeout: float = 120.0
    loadbalance: str = "sticky"
    context: str | None = None

    @classmethod
    def parse(cls, opts: Mapping[str, str]) -> KubeOptions:
        namespace = opts.get("namespace", "default")
        if not _DNS_LABEL.match(namespace) or len(namespace) > 63:
            raise UsageError(f"invalid kubernetes namespace {namespace!r}")
        try:
            replicas = int(opts.get("replicas", "1"))
            timeout = float(opts.get("timeout", "120").removesuffix("s"))
        except ValueError:
            raise UsageError("replicas and timeout must be numbers") from None
        if replicas < 1:
            raise UsageError("replicas must be at least 1")
        selector = []
        for pair in filter(None, opts.get("nodeselector", "").split(",")):
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise UsageError(f"invalid nodeselector {pair!r}",
                                 hint="use label=value, e.g. kubernetes.io/arch=arm64")
            selector.append((key.strip(), value.strip()))
        resources: dict[str, list[tuple[str, str]]] = {"requests": [], "limits": []}
        for key, value in sorted(opts.items()):
            kind, _, resource = key.partition(".")
            if kind in resources:
                if not _QUANTITY.match(value):
                    raise UsageError(f"invalid quantity {key}={value!r}", hint="e.g. 500m, 2, 4Gi")
                resources[kind].append((resource, value))
        rootless = opts.get("rootless", "false").lower()
        if rootless not in ("true", "false"):
            raise UsageError("rootless must be true or false")
        loadbalance = opts.get("loadbalance", "sticky")
        if loadbalance not in ("sticky", "random"):
            raise UsageError("loadbalance must be sticky or random")
        return cls(namespace=namespace, replicas=replicas, image=opts.get("image") or cls.image,
                   node_selector=tuple(selector), rootless=rootless == "true",
                   requests=tuple(resources["requests"]), limits=tuple(resources["limits"]), timeout=timeout,
                   loadbalance=loadbalance, context=opts.get("context") or None)


def deployment_name(builder: str, node: str) -> str:
    name = f"dockyard-{builder}-{node}".lower().replace("_", "-").replace(".", "-")
    if len(name) > 63 or not _DNS_LABEL.match(name):
        raise UsageError(f"{name!r} is not a valid Kubernetes name", hint="use a shorter builder or node name")
    return name


def endpoint_for(opts: KubeOptions, builder: str, node: str) -> str:
    return f"{SCHEME}{opts.namespace}/{deployment_name(builder, node)}"


def labels(builder: str, node: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "dockyard", "app.kubernetes.io/instance": deployment_name(builder, node)}


def deployment(opts: KubeOptions, *, builder: str, node: str) -> dict[str, Any]:
    """The Deployment object the node applies (keys in a fixed order: tests compare it whole)."""
    name = deployment_name(builder, node)
    match = labels(builder, node)
    security: dict[str, Any] = {"privileged": True} if not opts.rootless else {
        "runAsUser": 1000, "runAsGroup": 1000, "privileged": False,
        "seccompProfile": {"type": "Unconfined"}, "appArmorProfile": {"type": "Unconfined"}}
    container: dict[str, Any] = {
        "name": "dockyard",
        "image": opts.image,
        "command": ["sleep", "infinity"],
        "securityContext": security,
        "volumeMounts": [{"name": "store", "mountPath": "/var/lib/dockyard"}],
    }
    resources = {kind: dict(values) for kind, values in (("requests", opts.requests), ("limits", opts.limits))
                 if values}
    if resources:
        container["resources"] = resources
    pod_spec: dict[str, Any] = {"containers": [container], "volumes": [{"name": "store", "emptyDir": {}}]}
    if opts.node_selector:
        pod_spec["nodeSelector"] = dict(opts.node_selector)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": opts.namespace, "labels": match},
        "spec": {
            "replicas": opts.replicas,
            "selector": {"matchLabels": match},
            "template": {"metadata": {"labels": match}, "spec": pod_spec},
        },
    }


@dataclass(frozen=True)
class KubeNode(RemoteNode):
    """A node whose builds run in the pods of a Deployment."""

    @property
    def options(self) -> KubeOptions:
        return KubeOptions.parse(dict(self.record.driver_opts))

    def apply(self) -> list[str]:
        """Create or update the Deployment, then wait until a pod is ready; returns the running pods."""
        from dockyard.builders import kubeapi

        opts = self.options
        api = kubeapi.Api(context=opts.context, node=self.name)
        api.apply_deployment(deployment(opts, builder=self.builder, node=self.name))
        return api.wait_running(opts.namespace, labels(self.builder, self.name), timeout=opts.timeout)

    def remove(self) -> None:
        """Delete the node's Deployment (``dockyard rm``); its pods and their stores go with it."""
        from dockyard.builders import kubeapi

        opts = self.options
        kubeapi.Api(context=opts.context, node=self.name).delete_deployment(
            opts.namespace, deployment_name(self.builder, self.name))

    def open(self, *, listener: progress.Listener | None = None, key: str = "") -> Session:
        """A session with one of the node's pods (``key`` picks it when ``loadbalance=sticky``)."""
        from dockyard.builders import kubeapi

        opts = self.options
        api = kubeapi.Api(context=opts.context, node=self.name)
        pods = api.running_pods(opts.namespace, labels(self.builder, self.name)) or self.apply()
        if opts.loadbalance == "sticky":
            pod = pods[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(pods)]
        else:
            pod = random.choice(pods)
        argv = [sys.executable, "-m", "dockyard.remote.kubeexec", "--namespace", opts.namespace, "--pod", pod]
        if opts.context:
            argv += ["--context", opts.context]
        return self.session(argv, listener=listener)

    def bootstrap(self) -> BootRecord:
        """Apply the Deployment, wait for a ready pod, then run the node bootstrap inside it."""
        self.apply()
        with self.open() as session:
            return session.bootstrap(self.record.platforms)

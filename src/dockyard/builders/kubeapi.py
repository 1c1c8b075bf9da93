"""The few Kubernetes API calls the kubernetes driver makes, through the official ``kubernetes`` client.

Imported only when a kubernetes node is used (the client is an optional extra:
``pip install dockyard[kubernetes]``). Every API or kubeconfig failure becomes a one-line
NodeError naming the node, the call and the API's status and reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dockyard.errors import HostError, NodeError


def _client() -> Any:
    try:
        import kubernetes
    except ImportError:
        raise HostError("the kubernetes driver needs the kubernetes Python client",
                        hint="pip install 'dockyard[kubernetes]'") from None
    return kubernetes


def load_config(context: str | None) -> Any:
    """An ApiClient for the kubeconfig (KUBECONFIG or ~/.kube/config) and ``context``."""
    k8s = _client()
    try:
        config = k8s.client.Configuration()
        k8s.config.load_kube_config(context=context, client_configuration=config)
    except (k8s.config.ConfigException, OSError, TypeError) as exc:
        raise NodeError(f"cannot load the kubeconfig: {str(exc).splitlines()[0]}",
                        hint="set KUBECONFIG, or pass --driver-opt context=NAME") from None
    return k8s.client.ApiClient(config)


class Api:
    """Deployments and pods of one node."""

    def __init__(self, *, context: str | None, node: str) -> None:
        self.node = node
        self.k8s = _client()
        self.api_client = load_config(context)
        self.apps = self.k8s.client.AppsV1Api(self.api_client)
        self.core = self.k8s.client.CoreV1Api(self.api_client)

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        try:
            yield
        except self.k8s.client.exceptions.ApiException as exc:
            reason = exc.reason or ""
            try:
                import json

                reason = json.loads(exc.body).get("message") or reason
            except (TypeError, ValueError, AttributeError):
                pass
            raise NodeError(f"node {self.node}: kubernetes API refused to {what}: {exc.status} {reason}") from None
        except (OSError, self.k8s.client.exceptions.OpenApiException) as exc:
            raise NodeError(f"node {self.node}: kubernetes API unreachable ({what}): {exc}") from None

    def apply_deployment(self, obj: Mapping[str, Any]) -> None:
        """Create the Deployment, or replace its spec when it exists (create-or-replace, not server-side apply)."""
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        with self._call(f"read deployment {ns}/{name}"):
            try:
                current = self.apps.read_namespaced_deployment(name, ns)
            except self.k8s.client.exceptions.ApiException as exc:
                if exc.status != 404:
                    raise
                current = None
        if current is None:
            with self._call(f"create deployment {ns}/{name}"):
                self.apps.create_namespaced_deployment(ns, dict(obj))
            return
        body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": current.metadata.resource_version}}
        with self._call(f"replace deployment {ns}/{name}"):
            self.apps.replace_namespaced_deployment(name, ns, body)

    def delete_deployment(self, namespace: str, name: str) -> None:
        with self._call(f"delete deployment {namespace}/{name}"):
            try:
                self.apps.delete_namespaced_deployment(name, namespace)
            except self.k8s.client.exceptions.ApiException as exc:
                if exc.status != 404:
                    raise

    def running_pods(self, namespace: str, labels: Mapping[str, str]) -> list[str]:
        """Names of the ready, running pods with ``labels``, sorted (stable for sticky placement)."""
        with self._call(f"list pods in {namespace}"):
            pods = self.core.list_namespaced_pod(namespace, label_selector=_selector(labels))
        return sorted(p.metadata.name for p in pods.items if _ready(p))

    def wait_running(self, namespace: str, labels: Mapping[str, str], *, timeout: float) -> list[str]:
        """Watch the node's pods until one is ready; NodeError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._call(f"list pods in {namespace}"):
            listing = self.core.list_namespaced_pod(namespace, label_selector=_selector(labels))
        ready = {p.metadata.name for p in listing.items if _ready(p)}
        version = listing.metadata.resource_version
        watch = self.k8s.watch.Watch()
        while not ready:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NodeError(f"node {self.node}: no pod of {namespace}/{_selector(labels)} became ready within "
                                f"{timeout:.0f}s", hint="check 'kubectl describe pods' (image, nodeSelector)")
            with self._call(f"watch pods in {namespace}"):
                for event in watch.stream(self.core.list_namespaced_pod, namespace, label_selector=_selector(labels),
                                          resource_version=version, timeout_seconds=max(1, int(left))):
                    pod = event["object"]
                    version = pod.metadata.resource_version
                    if event["type"] == "DELETED" or not _ready(pod):
                        ready.discard(pod.metadata.name)
                    else:
                        ready.add(pod.metadata.name)
                    if ready:
                        watch.stop()
                        break
        return sorted(ready)


def _selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _ready(pod: Any) -> bool:
    if pod.status is None or pod.status.phase != "Running" or pod.metadata.deletion_timestamp is not None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))

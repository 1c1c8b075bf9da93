"""The kubernetes driver against a fake API server (tests/rig/kubeapi.py: no real cluster can run here),
and, only when KUBECONFIG names a real cluster, the same build against it.

What the fake checks is listed in its docstring; the pods it "runs" are processes on this
machine, so a build through it exercises the driver's API calls, the watch, the exec websocket
(v5 channels) and the node protocol end to end, but not real scheduling or images.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import NodeError
from tests.integration.build.buildrig import dockyard, inspect_raw, unpack
from tests.rig.kubeapi import V5, FakeApiServer
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def fake_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    server = FakeApiServer(tmp_path / "cluster").start()
    monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig(tmp_path / "kubeconfig")))
    yield server
    server.stop()


def test_a_build_runs_in_a_pod_of_the_nodes_deployment(fake_api: FakeApiServer, busybox_base: str,
                                                       registry: TestRegistry, tmp_path: Path) -> None:
    dockyard("create", "--name", "k8s", "--driver", "kubernetes", "--platform", "linux/amd64", "--bootstrap",
             "--driver-opt", 'namespace=ci,replicas=2,image=registry.example/dockyard-node:1,'
             '"nodeselector=kubernetes.io/arch=amd64,pool=builders",requests.cpu=500m,limits.memory=2Gi')
    cluster = fake_api.cluster
    dep = cluster.deployments[("ci", "dockyard-k8s-k8s0")]
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["command"], container["securityContext"]) == (
        "registry.example/dockyard-node:1", ["sleep", "infinity"], {"privileged": True})
    assert container["resources"] == {"requests": {"cpu": "500m"}, "limits": {"memory": "2Gi"}}
    assert dep["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/arch": "amd64", "pool": "builders"}
    assert len([p for p in cluster.pods if p[0] == "ci"]) == 2
    assert any(q.get("watch") == "true" for method, path, q in cluster.requests if path.endswith("/pods"))
    assert cluster.execs[0]["command"] == ["dockyard", "node", "serve", "--stdio"]
    assert (cluster.execs[0]["stdin"], cluster.execs[0]["protocol"]) == ("true", V5)

    listed = next(json.loads(line) for line in dockyard("ls", "--format", "json").stdout.splitlines()
                  if json.loads(line)["Name"] == "k8s")
    assert listed["Nodes"][0]["Endpoint"] == "kubernetes://ci/dockyard-k8s-k8s0"
    assert listed["Nodes"][0]["Status"] == "running"

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_base}\nRUN uname -m > /arch\nCOPY f /f\n")
    (ctx / "f").write_text("from the client\n")
    ref = f"{registry.address}/kube:1"
    meta = tmp_path / "meta.json"
    out = dockyard("--builder", "k8s", "build", "--progress", "plain", "--push", "-t", ref,
                   "--metadata-file", str(meta), str(ctx))
    assert "linux/amd64: node k8s0 (kubernetes://ci/dockyard-k8s-k8s0, native)" in out.stderr
    assert inspect_raw(ref)["mediaType"].endswith("manifest.v1+json")
    rootfs, _ = unpack(ref, "amd64", tmp_path / "unpacked")
    assert (rootfs / "f").read_text() == "from the client\n"
    assert json.loads(meta.read_text())["dockyard.nodes"]["linux/amd64"]["node"] == "k8s0"
    pods_used = {e["pod"] for e in cluster.execs}
    assert pods_used <= {name for _, name in cluster.pods}

    dockyard("rm", "k8s")  # the Deployment goes with the builder
    assert cluster.deployments == {} and cluster.pods == {}


def test_the_api_refusing_an_object_is_a_one_line_node_error(fake_api: FakeApiServer) -> None:
    from dockyard.builders.kube import KubeOptions, deployment
    from dockyard.builders.kubeapi import Api

    bad = deployment(KubeOptions(namespace="ci"), builder="b", node="n")
    bad["spec"]["selector"]["matchLabels"] = {"app": "other"}
    with pytest.raises(NodeError) as caught:
        Api(context=None, node="n").apply_deployment(bad)
    assert caught.value.message == ("node n: kubernetes API refused to create deployment ci/dockyard-b-n: 422 "
                                    "Deployment.apps is invalid: spec.template.metadata.labels: Invalid value: "
                                    "`selector` does not match template `labels`")


def test_a_pod_that_never_becomes_ready_times_out_naming_the_selector(fake_api: FakeApiServer) -> None:
    fake_api.cluster.ready_after = 3600
    out = dockyard("create", "--name", "slow", "--driver", "kubernetes", "--bootstrap", "--driver-opt",
                   "namespace=ci,timeout=2", check=False)
    assert out.returncode == 1
    assert out.stderr.splitlines()[0].startswith("error: node slow0: no pod of ci/app.kubernetes.io/instance="
                                                 "dockyard-slow-slow0,app.kubernetes.io/name=dockyard became ready")


REAL = pytest.mark.skipif(not os.environ.get("KUBECONFIG") or not os.environ.get("DOCKYARD_TEST_K8S_REGISTRY"),
                          reason="needs a real cluster: KUBECONFIG and DOCKYARD_TEST_K8S_REGISTRY "
                          "(docs/kubernetes-driver.md)")


@REAL
def test_real_cluster_two_platforms(tmp_path: Path) -> None:
    """Recipe in docs/kubernetes-driver.md: one amd64 and one arm64 node pool, a registry both reach."""
    registry = os.environ["DOCKYARD_TEST_K8S_REGISTRY"]
    image = os.environ.get("DOCKYARD_TEST_K8S_IMAGE", "")
    extra = f",image={image}" if image else ""
    for i, arch in enumerate(("amd64", "arm64")):
        dockyard("create", "--name", "real", *([] if i == 0 else ["--append"]), "--node", arch,
                 "--driver", "kubernetes", "--platform", f"linux/{arch}", "--driver-opt",
                 f'namespace=dockyard-test,"nodeselector=kubernetes.io/arch={arch}"{extra}')
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN uname -m > /arch\n")
    ref = f"{registry}/dockyard-k8s-test:1"
    dockyard("--builder", "real", "build", "--platform", "linux/amd64,linux/arm64", "--push", "-t", ref, str(ctx),
             timeout=1800)
    for arch, machine in (("amd64", "x86_64"), ("arm64", "aarch64")):
        rootfs, _ = unpack(ref, arch, tmp_path / "unpacked")
        assert (rootfs / "arch").read_text() == f"{machine}\n"

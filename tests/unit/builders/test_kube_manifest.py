"""The kubernetes driver's options and the Deployment it applies (compared whole), and the node image."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.builders.kube import KubeOptions, deployment, parse_driver_opts
from dockyard.errors import UsageError

REPO = Path(__file__).resolve().parents[3]


def test_rootless_deployment_with_two_replicas() -> None:
    opts = KubeOptions.parse(parse_driver_opts(['namespace=ci,replicas=2,rootless=true,image=r/node:1,'
                                                '"nodeselector=kubernetes.io/arch=arm64",limits.cpu=2']))
    labels = {"app.kubernetes.io/name": "dockyard", "app.kubernetes.io/instance": "dockyard-farm-arm"}
    assert deployment(opts, builder="farm", node="arm") == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "dockyard-farm-arm", "namespace": "ci", "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{
                "name": "dockyard", "image": "r/node:1", "command": ["sleep", "infinity"],
                "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "privileged": False,
                                    "seccompProfile": {"type": "Unconfined"},
                                    "appArmorProfile": {"type": "Unconfined"}},
                "volumeMounts": [{"name": "store", "mountPath": "/var/lib/dockyard"}],
                "resources": {"limits": {"cpu": "2"}}}],
                "volumes": [{"name": "store", "emptyDir": {}}],
                "nodeSelector": {"kubernetes.io/arch": "arm64"}}}},
    }


@pytest.mark.parametrize(("opt", "message"), [
    ("replicas=0", "replicas must be at least 1"),
    ("namespace=Bad_NS", "invalid kubernetes namespace 'Bad_NS'"),
    ("nodeselector=arm64", "invalid nodeselector 'arm64'"),
    ("loadbalance=roundrobin", "loadbalance must be sticky or random"),
    ("requests.memory=lots", "invalid quantity requests.memory='lots'"),
])
def test_bad_options_are_usage_errors(opt: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        KubeOptions.parse(parse_driver_opts([opt]))


def test_the_node_image_dockerfile_plans_for_both_platforms() -> None:
    dockerfile = REPO / "deploy" / "node" / "Dockerfile"
    out = subprocess.run([sys.executable, "-m", "dockyard", "build", "--dry-run", "-f", str(dockerfile),
                          "--platform", "linux/amd64,linux/arm64", str(REPO)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("CMD [\"sleep\" \"infinity\"]") == 2
    check = subprocess.run([sys.executable, "-m", "dockyard", "build", "--call", "check", "-f", str(dockerfile),
                            str(REPO)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "no warnings" in check.stdout

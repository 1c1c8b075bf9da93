"""A company's private registry: HTTPS with a CA made by the test, a Harbor-style robot user
(``robot$project+ci``) and project namespaces. The CA reaches dockyard through Docker's certs.d,
a builder's buildkitd.toml ``ca``, ``--registry-ca`` and SSL_CERT_FILE; without it, TLS fails with a hint, and
verification is skipped only for a registry named insecure. ``imagetools create --from`` mirrors
a release there with its digest unchanged. Results are read with skopeo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockyard.registry.hosts import CERTS_D
from tests.integration.build.buildrig import dockyard
from tests.integration.release.releaserig import ca_dir, list_tags, make_repo, raw_digest
from tests.rig import registries
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


def _login(reg: TestRegistry, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "dockyard", "login", "-u", registries.ROBOT_USER,
                           "--password-stdin", reg.address], input=registries.ROBOT_PASSWORD, capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})})


def _build(repo: Path, base: str, ref: str, *extra: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return dockyard(*extra, "build", "--progress", "plain", "--build-arg", f"BASE={base}", "-t", ref, "--push",
                    str(repo), check=False, env=env)


def test_without_the_ca_tls_fails_naming_the_registry(tls_registry: TestRegistry, busybox_base: str,
                                                      tmp_path: Path) -> None:
    refused = _login(tls_registry)
    assert refused.returncode == 1 and "TLS failed" in refused.stderr and tls_registry.address in refused.stderr
    assert registries.ROBOT_PASSWORD not in refused.stderr
    out = _build(make_repo(tmp_path / "app"), busybox_base, f"{tls_registry.address}/project/app:1")
    assert out.returncode == 1 and "TLS failed" in out.stderr and f"certs.d/{tls_registry.address}" in out.stderr
    # insecure only when named: the registry answers (401: the robot is not logged in here)
    named = dockyard("imagetools", "--insecure-registry", tls_registry.address, "inspect",
                     f"{tls_registry.address}/project/app:1", check=False)
    assert named.returncode == 1 and "TLS failed" not in named.stderr and "UNAUTHORIZED" in named.stderr


def test_ca_from_certs_d(tls_registry: TestRegistry, busybox_base: str, tmp_path: Path) -> None:
    host_dir = CERTS_D / tls_registry.address  # unique per port; removed below
    host_dir.mkdir(parents=True, exist_ok=False)
    try:
        shutil.copy(str(tls_registry.ca), host_dir / "ca.crt")
        assert _login(tls_registry).returncode == 0
        ref = f"{tls_registry.address}/project/certsd:1"
        out = _build(make_repo(tmp_path / "app"), busybox_base, ref)
        assert out.returncode == 0, out.stderr
        certs = ca_dir(tls_registry, tmp_path / "skopeo-certs")
        assert raw_digest(tls_registry, ref, certs) == out.stdout.strip()
    finally:
        shutil.rmtree(host_dir)


def test_ca_from_builder_config(tls_registry: TestRegistry, busybox_base: str, tmp_path: Path) -> None:
    config = tmp_path / "buildkitd.toml"
    config.write_text(f'[registry."{tls_registry.address}"]\nca = ["{tls_registry.ca}"]\n')
    created = dockyard("create", "--name", "private-ca", "--config", str(config), "--use", check=False)
    assert created.returncode == 0, created.stderr
    (tmp_path / "docker-config").mkdir(exist_ok=True)
    auth = tmp_path / "docker-config" / "config.json"
    import base64
    import json

    token = base64.b64encode(f"{registries.ROBOT_USER}:{registries.ROBOT_PASSWORD}".encode()).decode()
    auth.write_text(json.dumps({"auths": {tls_registry.address: {"auth": token}}}))
    ref = f"{tls_registry.address}/project/builder-ca:1"
    out = _build(make_repo(tmp_path / "app"), busybox_base, ref)
    assert out.returncode == 0, out.stderr
    assert raw_digest(tls_registry, ref, ca_dir(tls_registry, tmp_path / "c")) == out.stdout.strip()


def test_ca_from_ssl_cert_file_and_mirror_keeps_the_digest(tls_registry: TestRegistry, registry: TestRegistry,
                                                           busybox_base: str, tmp_path: Path) -> None:
    env = {"SSL_CERT_FILE": str(tls_registry.ca)}
    login = _login(tls_registry, env=env)
    assert login.returncode == 0, login.stderr
    targets = [f"{tls_registry.address}/project/mirror:1.0", f"{tls_registry.address}/project/mirror:latest",
               f"{registry.address}/release-mirror/busybox:1.0"]
    args = ["imagetools", "create", "--from", busybox_base]
    for target in targets:
        args += ["-t", target]
    out = dockyard(*args, env=env)
    source = raw_digest(registry, busybox_base)
    assert out.stdout.split() == [f"{t.rpartition(':')[0]}@{source}" for t in targets]
    certs = ca_dir(tls_registry, tmp_path / "skopeo-certs")
    assert list_tags(tls_registry, "project/mirror", certs) == {"1.0", "latest"}
    for target in targets[:2]:
        assert raw_digest(tls_registry, target, certs) == source
    assert raw_digest(registry, targets[2]) == source
    bad = dockyard("imagetools", "create", "--from", busybox_base, "--platform", "linux/amd64", "-t", targets[2],
                   check=False)
    assert bad.returncode == 2 and "--from copies one image unchanged" in bad.stderr


def test_ca_from_the_registry_ca_option(tls_registry: TestRegistry, busybox_base: str, tmp_path: Path) -> None:
    trust = ["--registry-ca", f"{tls_registry.address}={tls_registry.ca}"]
    login = subprocess.run([sys.executable, "-m", "dockyard", *trust, "login", "-u", registries.ROBOT_USER,
                            "--password-stdin", tls_registry.address], input=registries.ROBOT_PASSWORD,
                           capture_output=True, text=True, check=False)
    assert login.returncode == 0, login.stderr
    ref = f"{tls_registry.address}/project/option-ca:1"
    out = _build(make_repo(tmp_path / "app"), busybox_base, ref, *trust)
    assert out.returncode == 0, out.stderr
    shown = dockyard(*trust, "imagetools", "inspect", ref)
    assert out.stdout.strip() in shown.stdout
    assert raw_digest(tls_registry, ref, ca_dir(tls_registry, tmp_path / "c")) == out.stdout.strip()
    missing = dockyard("--registry-ca", f"{tls_registry.address}={tmp_path / 'nope.pem'}", "imagetools", "inspect",
                       ref, check=False)
    assert missing.returncode == 2 and "is not a file" in missing.stderr

"""A node pushing to a Bearer (token-auth) registry gets a token the client fetched, scoped to the
solve's repositories, never the password (:mod:`dockyard.builders.protocol.scopedauth`).

BuildKit's session/auth/authprovider.go (``FetchToken``) hands the builder tokens the client
fetched for the scopes the builder names; dockyard's client names the scopes itself, from the
platform's solve. The registry is a real CNCF Distribution in ``auth.token`` mode on the farm's
host side; its token server (tests/rig/tokenserver.py) listens on 127.0.0.1, which the node (in
its own network namespace) cannot reach at all: every token the node used came from the client.
Every frame the client sends the node is recorded by a ``tee`` in front of ``ssh``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from dockyard import localregistry
from tests.integration.build.buildrig import dockyard
from tests.integration.builders.conftest import FarmRegistry
from tests.integration.builders.test_ssh_nodes import _builder, _context
from tests.rig.registries import PASSWORD, USER
from tests.rig.sshnodes import SshFarm
from tests.rig.tokenserver import TokenPolicy, TokenServer

pytestmark = pytest.mark.integration


StartTokenRegistry = Callable[[SshFarm], tuple[FarmRegistry, TokenServer]]


@pytest.fixture
def token_registry(tmp_path: Path, busybox_base: str) -> Iterator[StartTokenRegistry]:
    """``start(farm)``: a token-auth registry on the farm's host side, its token server on 127.0.0.1."""
    running: list[tuple[localregistry.RunningRegistry, TokenServer]] = []

    def start(farm: SshFarm) -> tuple[FarmRegistry, TokenServer]:
        work = tmp_path / "token-registry"
        work.mkdir()
        server = TokenServer(work, TokenPolicy(users={USER: PASSWORD}))
        realm = server.start()
        auth = localregistry.TokenAuth(realm=realm, service=server.service, issuer=server.issuer,
                                       rootcertbundle=server.certfile)
        reg = localregistry.start(localregistry.RegistryConfig(
            port=localregistry.free_port(), storage=work / "storage", rundir=work, host=farm.registry_address,
            accesslog=True, token=auth))
        running.append((reg, server))
        base = f"{reg.address}/busybox:latest"
        subprocess.run(["skopeo", "copy", "--all", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                        "--dest-creds", f"{USER}:{PASSWORD}", f"docker://{busybox_base}", f"docker://{base}"],
                       check=True, capture_output=True)
        config = work / "buildkitd.toml"
        config.write_text(f'[registry."{reg.address}"]\nhttp = true\n')
        return FarmRegistry(reg.address, base, reg.log, config, USER, PASSWORD), server

    yield start
    for reg, server in running:
        localregistry.stop_pid(reg.pid)
        server.stop()


def test_a_node_gets_a_token_scoped_to_its_solve_not_the_password(
        ssh_farm: Callable[[int], SshFarm], token_registry: StartTokenRegistry,
        tmp_path: Path) -> None:
    farm = ssh_farm(1)
    reg, server = token_registry(farm)
    node = farm.hosts[0]
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    Path(os.environ["DOCKER_CONFIG"]).mkdir(parents=True, exist_ok=True)
    (Path(os.environ["DOCKER_CONFIG"]) / "config.json").write_text(json.dumps({"auths": {reg.address: {"auth": auth}}}))
    env = _builder(farm, reg, "tok", ("n", node, "linux/amd64"))
    frames = tmp_path / "frames.bin"
    wrap = tmp_path / "tee-ssh.sh"
    wrap.write_text(f'#!/bin/sh\ntee -a {frames} | "$@"\n')
    env = {**env, "DOCKYARD_SSH_COMMAND": f"sh {wrap} {farm.ssh_command}"}
    ref = f"{reg.address}/private/app:1"
    out = dockyard("--builder", "tok", "build", "--progress", "plain", "--push", "-t", ref,
                   str(_context(tmp_path, reg.base)), env=env)
    assert "linux/amd64: node n (ssh://" in out.stderr
    assert "sharing credentials" not in out.stderr  # a token, not the host's credentials
    raw = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", "--creds", f"{USER}:{PASSWORD}",
                          f"docker://{ref}"], check=True, capture_output=True).stdout
    assert hashlib.sha256(raw).hexdigest() == out.stdout.strip().removeprefix("sha256:")
    # the node pulled the base and pushed the layers itself
    requests = reg.requests()
    assert any(who == node.address and method == "PUT" and path.startswith("/v2/private/app/blobs/uploads/")
               for who, method, path in requests)
    assert any(who == node.address and path.startswith("/v2/busybox/") for who, _m, path in requests)

    sent = frames.read_bytes()
    assert PASSWORD.encode() not in sent and auth.encode() not in sent  # neither plain nor Basic-encoded
    tokens = re.findall(rb'"registry_token":"([^"]+)"', sent)
    assert tokens, "the node was sent no token"
    for token in tokens:
        claims = jwt.decode(token, options={"verify_signature": False})
        access = {(a["name"], tuple(a["actions"])) for a in claims["access"]}
        assert access == {("busybox", ("pull",)), ("private/app", ("pull", "push"))}
        assert claims["exp"] - claims["iat"] <= server.lifetime  # a short-lived token

    # the token works for its own repositories and is refused for any other (the registry checks the scope)
    bearer = {"Authorization": f"Bearer {tokens[-1].decode()}"}
    with httpx.Client(base_url=f"http://{reg.address}") as http:
        assert http.get("/v2/private/app/tags/list", headers=bearer).status_code == 200
        assert http.get("/v2/busybox/tags/list", headers=bearer).status_code == 200
        refused = http.get("/v2/other/tags/list", headers=bearer)
        assert refused.status_code == 401
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
        # pull only on the base: pushing there is refused too
        assert http.post("/v2/busybox/blobs/uploads/", headers=bearer).status_code == 401

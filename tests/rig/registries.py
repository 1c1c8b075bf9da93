"""Real CNCF Distribution registries for the tests: anonymous, htpasswd Basic, and Bearer token.

Each runs on a free 127.0.0.1 port with temporary storage, started through the same
``dockyard.localregistry`` code users run, and is stopped by its fixture.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from dockyard import localregistry
from dockyard.errors import UsageError
from tests.rig.tokenserver import TokenPolicy, TokenServer

USER = "dockyard"
PASSWORD = "s3cret-pass"
READONLY_USER = "reader"
READONLY_PASSWORD = "reader-pass"


@dataclass
class TestRegistry:
    """A running registry as the tests see it."""

    __test__ = False  # not a test class, despite the name

    address: str
    running: localregistry.RunningRegistry
    username: str | None = None
    password: str | None = None
    token_server: TokenServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> None:
        localregistry.stop_pid(self.running.pid)
        if self.token_server is not None:
            self.token_server.stop()


def _start(workdir: Path, *, htpasswd: Path | None = None,
           token: localregistry.TokenAuth | None = None) -> localregistry.RunningRegistry:
    last: UsageError | None = None
    for _ in range(3):  # a free port can be taken between probe and bind
        config = localregistry.RegistryConfig(
            port=localregistry.free_port(), storage=workdir / "storage", rundir=workdir, htpasswd=htpasswd,
            token=token,
        )
        try:
            return localregistry.start(config)
        except UsageError as exc:  # the port was taken meanwhile: try another
            last = exc
    assert last is not None
    raise last


def start_anonymous(workdir: Path) -> TestRegistry:
    reg = _start(workdir)
    return TestRegistry(reg.address, reg)


def start_basic(workdir: Path) -> TestRegistry:
    htpasswd = workdir / "htpasswd"
    subprocess.run(["htpasswd", "-Bbc", str(htpasswd), USER, PASSWORD], check=True, capture_output=True)
    reg = _start(workdir, htpasswd=htpasswd)
    return TestRegistry(reg.address, reg, USER, PASSWORD)


def start_token(workdir: Path) -> TestRegistry:
    server = TokenServer(workdir, TokenPolicy(users={USER: PASSWORD, READONLY_USER: READONLY_PASSWORD},
                                              readonly={READONLY_USER}))
    realm = server.start()
    token = localregistry.TokenAuth(realm=realm, service=server.service, issuer=server.issuer,
                                    rootcertbundle=server.certfile)
    reg = _start(workdir, token=token)
    return TestRegistry(reg.address, reg, USER, PASSWORD, server)

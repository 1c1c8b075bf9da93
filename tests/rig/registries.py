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
from tests.rig.pki import PKI
from tests.rig.tokenserver import TokenPolicy, TokenServer

USER = "dockyard"
PASSWORD = "s3cret-pass"
READONLY_USER = "reader"
READONLY_PASSWORD = "reader-pass"
ROBOT_USER = "robot$project+ci"  # Harbor robot accounts look like this: `$` and `+` in the user name
ROBOT_PASSWORD = "R0bot-s3cret"
JOB_TOKEN_USER = "gitlab-ci-token"  # GitLab CI logs in with this user and the job token
JOB_TOKEN = "glcbt-64-s3cret-job-token"


@dataclass
class TestRegistry:
    """A running registry as the tests see it."""

    __test__ = False  # not a test class, despite the name

    address: str
    running: localregistry.RunningRegistry
    username: str | None = None
    password: str | None = None
    token_server: TokenServer | None = None
    ca: Path | None = None  # the CA that signed its certificate, when it serves HTTPS

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://{self.address}"

    def stop(self) -> None:
        localregistry.stop_pid(self.running.pid)
        if self.token_server is not None:
            self.token_server.stop()


def _start(workdir: Path, *, htpasswd: Path | None = None, token: localregistry.TokenAuth | None = None,
           tls: tuple[Path, Path] | None = None) -> localregistry.RunningRegistry:
    last: UsageError | None = None
    for _ in range(3):  # a free port can be taken between probe and bind
        config = localregistry.RegistryConfig(
            port=localregistry.free_port(), storage=workdir / "storage", rundir=workdir, htpasswd=htpasswd,
            token=token, tls=tls,
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


def start_tls(workdir: Path, *, username: str = ROBOT_USER, password: str = ROBOT_PASSWORD) -> TestRegistry:
    """HTTPS with a certificate from a CA made here (``.ca``), and htpasswd Basic auth for ``username``
    (and for GitLab's ``gitlab-ci-token`` with :data:`JOB_TOKEN`)."""
    pki_dir = workdir / "pki"
    pki_dir.mkdir(parents=True, exist_ok=True)
    pki = PKI(pki_dir)
    htpasswd = workdir / "htpasswd"
    subprocess.run(["htpasswd", "-Bbc", str(htpasswd), username, password], check=True, capture_output=True)
    subprocess.run(["htpasswd", "-Bb", str(htpasswd), JOB_TOKEN_USER, JOB_TOKEN], check=True, capture_output=True)
    reg = _start(workdir, htpasswd=htpasswd, tls=(pki_dir / "server.crt", pki_dir / "server.key"))
    return TestRegistry(reg.address, reg, username, password, ca=pki.ca)

"""The embedded local registry: the CNCF Distribution registry, started on loopback with our config.

Debian's default registry config listens on every interface and points htpasswd at a
directory, so dockyard never uses it: it writes its own config (127.0.0.1, a storage
directory, optional htpasswd Basic or token auth) and waits until ``/v2/`` answers before
returning. The same code serves ``dockyard registry serve``, ``make demo`` and the test
fixtures, so what the tests exercise is what users run.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import HostError, UsageError
from dockyard.hosttools import require_tool


@dataclass(frozen=True)
class TokenAuth:
    """Distribution's ``auth.token`` settings: clients fetch Bearer tokens from ``realm``."""

    realm: str
    service: str
    issuer: str
    rootcertbundle: Path


@dataclass(frozen=True)
class RegistryConfig:
    """Everything needed to start one registry process."""

    port: int
    storage: Path
    rundir: Path
    htpasswd: Path | None = None
    token: TokenAuth | None = None
    host: str = "127.0.0.1"  # tests of remote nodes bind the host side of a veth pair instead
    accesslog: bool = False  # tests read who sent each request (the client address is logged)
    tls: tuple[Path, Path] | None = None  # (certificate, key): serve HTTPS instead of HTTP

    def render(self) -> str:
        """The registry's YAML config (written by hand: it is small and fixed in shape)."""
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            f"    disabled: {'false' if self.accesslog else 'true'}",
            "storage:",
            "  cache:",
            "    blobdescriptor: inmemory",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}:{self.port}",
            "  secret: dockyard-local-registry",
            "  headers:",
            "    X-Content-Type-Options: [nosniff]",
        ]
        if self.tls is not None:
            lines += ["  tls:", f"    certificate: {self.tls[0]}", f"    key: {self.tls[1]}"]
        if self.htpasswd is not None:
            lines += ["auth:", "  htpasswd:", "    realm: dockyard-local", f"    path: {self.htpasswd}"]
        elif self.token is not None:
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self.token.realm}",
                f"    service: {self.token.service}",
                f"    issuer: {self.token.issuer}",
                f"    rootcertbundle: {self.token.rootcertbundle}",
            ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunningRegistry:
    """A started registry process; ``address`` is ``127.0.0.1:PORT``."""

    pid: int
    port: int
    storage: Path
    log: Path
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int, host: str = "127.0.0.1", *, tls: bool = False) -> int | None:
    """The status ``/v2/`` answers with, None when nothing answers. Over TLS the certificate is
    not checked: this only asks whether the process we started is up."""
    conn: http.client.HTTPConnection
    if tls:
        conn = http.client.HTTPSConnection(host, port, timeout=1, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=1)
    try:
        conn.request("GET", "/v2/")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def start(config: RegistryConfig, *, timeout: float = 15.0) -> RunningRegistry:
    """Start the registry in its own session and wait until ``/v2/`` answers 200 or 401."""
    binary = require_tool("docker-registry", package="docker-registry")
    if _ping(config.port, config.host) is not None:
        raise UsageError(
            f"{config.host}:{config.port} is already in use",
            hint="choose another --port, or stop what listens there (dockyard registry stop)",
        )
    config.rundir.mkdir(parents=True, exist_ok=True)
    config.storage.mkdir(parents=True, exist_ok=True)
    conf_path = config.rundir / f"registry-{config.port}.yml"
    log_path = config.rundir / f"registry-{config.port}.log"
    conf_path.write_text(config.render())
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            [binary, "serve", str(conf_path)],
            stdin=devnull,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise HostError(f"the registry on port {config.port} exited at start: {tail[0]}", hint=f"see {log_path}")
        if _ping(config.port, config.host, tls=config.tls is not None) in (200, 401):
            return RunningRegistry(pid=proc.pid, port=config.port, storage=config.storage, log=log_path,
                                   host=config.host)
        time.sleep(0.05)
    proc.kill()
    raise HostError(f"the registry on port {config.port} did not answer within {timeout:.0f}s", hint=f"see {log_path}")


def stop_pid(pid: int, *, timeout: float = 10.0) -> None:
    """Terminate a registry process and wait for it, killing it if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for existence instead
            waited = 0 if _alive(pid) else pid
        if waited == pid:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def write_pidfile(path: Path, reg: RunningRegistry) -> None:
    """Record a detached registry so ``dockyard registry stop`` can find it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": reg.pid, "port": reg.port, "storage": str(reg.storage), "log": str(reg.log)}))
    os.replace(tmp, path)


def read_pidfile(path: Path) -> RunningRegistry | None:
    """The registry recorded in ``path`` if it is still running, else None (stale files are removed)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    reg = RunningRegistry(pid=int(data["pid"]), port=int(data["port"]), storage=Path(data["storage"]),
                          log=Path(data["log"]))
    if not _alive(reg.pid):
        path.unlink(missing_ok=True)
        return None
    return reg

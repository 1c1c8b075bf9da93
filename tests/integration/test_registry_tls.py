"""TLS trust comes from /etc/docker/certs.d/HOST (ca.crt, client NAME.cert + NAME.key)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.registry import Client, HostsConfig, Keychain, RetryPolicy, TransportOptions
from dockyard.registry.errors import NotFoundError, UnreachableError
from tests.integration.registryhelpers import dockyard
from tests.integration.tlsserver import TLSServer
from tests.rig.pki import PKI
from tests.rig.registries import TestRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    (tmp_path / "pki").mkdir()
    return PKI(tmp_path / "pki")


def _client(certs_d: Path) -> Client:
    return Client(hosts=HostsConfig(certs_d=certs_d), keychain=Keychain(),
                  transport=TransportOptions(retry=RetryPolicy(attempts=2, base=0.01), connect_timeout=3,
                                             read_timeout=3))


@pytest.fixture
def server(pki: PKI) -> Iterator[TLSServer]:
    s = TLSServer(pki)
    yield s
    s.stop()


def test_unknown_ca_is_a_tls_error_naming_host_and_port(server: TLSServer, tmp_path: Path) -> None:
    with _client(tmp_path / "certs.d") as client, pytest.raises(UnreachableError) as info:
        client.resolve(f"{server.address}/app:v1")
    assert "TLS failed" in info.value.message and server.address in info.value.message
    assert info.value.hint is not None and f"certs.d/{server.address}/ca.crt" in info.value.hint


def test_ca_from_certs_d_is_trusted(server: TLSServer, pki: PKI, tmp_path: Path) -> None:
    host_dir = tmp_path / "certs.d" / server.address
    host_dir.mkdir(parents=True)
    shutil.copy(pki.ca, host_dir / "ca.crt")
    with _client(tmp_path / "certs.d") as client:
        with pytest.raises(NotFoundError):
            client.resolve(f"{server.address}/app:v1")  # reached the registry over verified TLS
        assert client.session(server.address)._trust.loaded  # the certificate made the CAs load


def test_a_plain_http_loopback_registry_never_loads_the_cas(registry: TestRegistry, tmp_path: Path) -> None:
    """The system CA bundle (tens of milliseconds) loads only for a registry that speaks TLS: the
    loopback HTTPS guess fails on the handshake of a plain-HTTP server before any certificate."""
    with _client(tmp_path / "certs.d") as client:
        with pytest.raises(NotFoundError):
            client.resolve(f"{registry.address}/nothing/here:v1")
        session = client.session(registry.address)
        assert session.base_url.startswith("http://") and not session._trust.loaded


def test_client_certificate_from_certs_d(pki: PKI, tmp_path: Path) -> None:
    server = TLSServer(pki, require_client_cert=True)
    try:
        host_dir = tmp_path / "certs.d" / server.address
        host_dir.mkdir(parents=True)
        shutil.copy(pki.ca, host_dir / "ca.crt")
        with _client(tmp_path / "certs.d") as client, pytest.raises(UnreachableError):
            client.resolve(f"{server.address}/app:v1")  # no client certificate: refused
        shutil.copy(pki.root / "client.crt", host_dir / "client.cert")
        shutil.copy(pki.root / "client.key", host_dir / "client.key")
        with _client(tmp_path / "certs.d") as client, pytest.raises(NotFoundError):
            client.resolve(f"{server.address}/app:v1")
    finally:
        server.stop()


def test_insecure_registry_flag_skips_verification(server: TLSServer) -> None:
    ref = f"{server.address}/app:v1"
    refused = dockyard("imagetools", "inspect", ref, check=False)
    assert refused.returncode == 1 and "TLS failed" in refused.stderr
    reached = dockyard("imagetools", "--insecure-registry", server.address, "inspect", ref, check=False)
    assert reached.returncode == 1 and "NAME_UNKNOWN" in reached.stderr  # the registry itself answered

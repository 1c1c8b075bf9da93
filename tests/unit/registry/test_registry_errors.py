"""Registry error JSON becomes typed errors with hints; network failures name host:port."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dockyard.errors import ConfigError
from dockyard.registry import errors
from dockyard.registry.hosts import HostsConfig, is_loopback

REQ = httpx.Request("GET", "https://r.test/v2/")


@pytest.mark.parametrize(("code", "status", "cls", "hint_part"), [
    ("UNAUTHORIZED", 401, errors.AuthenticationError, "dockyard login r.test"),
    ("DENIED", 403, errors.AccessDeniedError, "access"),
    ("NAME_UNKNOWN", 404, errors.NotFoundError, "repository"),
    ("MANIFEST_INVALID", 400, errors.ManifestInvalidError, "manifest"),
    ("BLOB_UPLOAD_INVALID", 400, errors.BlobUploadError, "retry"),
    ("TOOMANYREQUESTS", 429, errors.RateLimitedError, "rate"),
])
def test_error_codes_map_to_classes_with_hints(code: str, status: int, cls: type, hint_part: str) -> None:
    response = httpx.Response(status, json={"errors": [{"code": code, "message": "registry says no"}]},
                              request=REQ)
    err = errors.from_response(response, registry="r.test", what="push app")
    assert isinstance(err, cls)
    assert err.code == code and err.status == status and err.registry == "r.test"
    assert "registry says no" in err.message and "push app" in err.message
    assert err.hint is not None and hint_part in err.hint


def test_status_without_body() -> None:
    err = errors.from_response(httpx.Response(401, request=REQ), registry="r.test", what="pull")
    assert isinstance(err, errors.AuthenticationError)
    err = errors.from_response(httpx.Response(502, request=REQ), registry="r.test", what="pull")
    assert isinstance(err, errors.ServerError) and "502" in err.message


def test_transport_errors_name_the_host_and_port() -> None:
    err = errors.from_transport(httpx.ConnectError("refused"), registry="127.0.0.1:1", what="push")
    assert "127.0.0.1:1" in err.message and "refused" in err.message
    err = errors.from_transport(httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER]"), registry="r.test:443",
                                what="push")
    assert "TLS" in err.message and err.hint and "certs.d/r.test:443" in err.hint
    err = errors.from_transport(httpx.ReadTimeout("slow"), registry="r.test", what="push")
    assert "timed out" in err.message


@pytest.mark.parametrize(("host", "loop"), [("127.0.0.1:5000", True), ("127.3.4.5", True), ("localhost:1", True),
                                            ("[::1]:5000", True), ("10.0.0.1:5000", False), ("r.test", False)])
def test_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop
    assert HostsConfig().schemes(host) == (("https", "http") if loop else ("https",))


def test_registries_toml(tmp_path: Path) -> None:
    path = tmp_path / "registries.toml"
    path.write_text('[registry."docker.io"]\nmirrors = ["https://mirror.test:5000/"]\n'
                    '[registry."plain.test:80"]\nhttp = true\n[registry."self.test"]\ninsecure = true\n'
                    'ca = ["/x/ca.pem"]\n')
    cfg = HostsConfig.load(path)
    assert cfg.get("docker.io").mirrors == ("mirror.test:5000",)
    assert cfg.schemes("plain.test:80") == ("http",)
    assert cfg.schemes("self.test") == ("https", "http")
    assert cfg.ca_files("self.test")[0].name == "ca.pem"
    assert HostsConfig.load(path, insecure=frozenset({"r.test"})).schemes("r.test") == ("https", "http")
    path.write_text('[registry."x"]\nhttp = "yes"\n')
    with pytest.raises(Exception, match="http must be true or false"):
        HostsConfig.load(path)
    path.write_text("[registry\n")
    with pytest.raises(ConfigError, match=r"registries\.toml") as syntax:
        HostsConfig.load(path)
    assert syntax.value.hint == "fix the TOML syntax"


def test_an_unreadable_registries_toml_is_not_called_a_syntax_error(tmp_path: Path) -> None:
    """A file that cannot be read (here a directory; root reads any file) says so and how to fix it."""
    path = tmp_path / "registries.toml"
    path.mkdir()
    with pytest.raises(ConfigError, match=r"registries\.toml: cannot read it: Is a directory") as unreadable:
        HostsConfig.load(path)
    assert unreadable.value.hint is not None and "readable" in unreadable.value.hint

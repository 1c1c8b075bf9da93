"""Per-registry connection settings: TLS trust, plain HTTP, and pull-through mirrors.

Read from ``~/.config/dockyard/registries.toml``, shaped like BuildKit's buildkitd.toml::

    [registry."docker.io"]
    mirrors = ["mirror.example.com:5000"]
    [registry."registry.internal:5000"]
    http = true                  # plain HTTP
    insecure = true              # HTTPS without verifying the certificate (or HTTP fallback)
    ca = ["/etc/ssl/internal-ca.pem"]
    [[registry."registry.internal:5000".keypair]]
    key = "/etc/ssl/client.key"
    cert = "/etc/ssl/client.cert"

plus Docker's ``/etc/docker/certs.d/HOST/`` (``ca.crt``, ``*.cert`` + ``*.key``). Plain HTTP
is used only for loopback registries (Docker's default) and those marked ``http``/``insecure``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.paths import config_root

CERTS_D = Path("/etc/docker/certs.d")


@dataclass(frozen=True)
class HostConfig:
    """Settings for one registry host (``host`` or ``host:port``)."""

    mirrors: tuple[str, ...] = ()
    http: bool = False
    insecure: bool = False
    ca: tuple[Path, ...] = ()
    keypairs: tuple[tuple[Path, Path], ...] = ()  # (cert, key)


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (with or without a port)."""
    name = host
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HostsConfig:
    """All registries' settings; hosts not listed get the defaults."""

    hosts: Mapping[str, HostConfig] = field(default_factory=dict)
    certs_d: Path = CERTS_D
    insecure: frozenset[str] = frozenset()  # hosts marked insecure on the command line

    @classmethod
    def load(cls, path: Path | None = None, *, insecure: frozenset[str] = frozenset(),
             certs_d: Path = CERTS_D) -> HostsConfig:
        """Read registries.toml (absent file: defaults); a ConfigError names the bad key."""
        path = path or config_root() / "registries.toml"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls(certs_d=certs_d, insecure=insecure)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}",
                              hint="make it readable by this user, or remove it for the defaults") from None
        import tomllib  # only when the file exists: most starts have none (issue 17)

        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}", hint="fix the TOML syntax") from None
        return cls(parse_hosts(doc.get("registry", {}), where=str(path)), certs_d, insecure)

    def with_ca(self, extra: Mapping[str, Sequence[Path]]) -> HostsConfig:
        """These settings with more CA files trusted per host (``dockyard --registry-ca HOST=FILE``)."""
        if not extra:
            return self
        hosts = dict(self.hosts)
        for host, files in extra.items():
            found = hosts.get(host, HostConfig())
            hosts[host] = HostConfig(found.mirrors, found.http, found.insecure, (*found.ca, *files), found.keypairs)
        return HostsConfig(hosts, self.certs_d, self.insecure)

    def with_hosts(self, overrides: Mapping[str, HostConfig]) -> HostsConfig:
        """These settings with ``overrides`` (e.g. a builder's config) taking precedence per host."""
        return HostsConfig({**self.hosts, **overrides}, self.certs_d, self.insecure)

    def get(self, host: str) -> HostConfig:
        found = self.hosts.get(host, HostConfig())
        if host in self.insecure:
            return HostConfig(found.mirrors, found.http, True, found.ca, found.keypairs)
        return found

    def schemes(self, host: str) -> tuple[str, ...]:
        """The URL schemes to try, in order: HTTPS first unless the host is configured plain HTTP."""
        cfg = self.get(host)
        if cfg.http:
            return ("http",)
        if cfg.insecure or is_loopback(host):
            return ("https", "http")
        return ("https",)

    def ca_files(self, host: str) -> list[Path]:
        cfg = self.get(host)
        files = list(cfg.ca)
        directory = self.certs_d / host
        if directory.is_dir():
            files += sorted(directory.glob("*.crt"))
        return files

    def client_certs(self, host: str) -> list[tuple[Path, Path]]:
        """Client certificate pairs: configured ones, then certs.d's ``NAME.cert`` + ``NAME.key``."""
        pairs = list(self.get(host).keypairs)
        directory = self.certs_d / host
        if directory.is_dir():
            for cert in sorted(directory.glob("*.cert")):
                key = cert.with_suffix(".key")
                if not key.is_file():
                    raise ConfigError(f"{cert} has no matching {key.name}",
                                      hint="client certificates need both NAME.cert and NAME.key")
                pairs.append((cert, key))
        return pairs


def parse_hosts(section: Any, *, where: str) -> dict[str, HostConfig]:
    """Parse a ``[registry."HOST"]`` table (registries.toml, and a builder's buildkitd.toml)."""
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [registry] must be a table of hosts")
    return {host: _host(where, host, value) for host, value in section.items()}


def _host(path: str, host: str, value: Any) -> HostConfig:
    where = f'{path}: [registry."{host}"]'
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    mirrors = value.get("mirrors", [])
    ca = value.get("ca", [])
    if not isinstance(mirrors, list) or not all(isinstance(m, str) for m in mirrors):
        raise ConfigError(f"{where}: mirrors must be a list of hosts")
    if not isinstance(ca, list) or not all(isinstance(c, str) for c in ca):
        raise ConfigError(f"{where}: ca must be a list of file paths")
    pairs = []
    for pair in value.get("keypair", []):
        if not isinstance(pair, dict) or not isinstance(pair.get("key"), str) or not isinstance(pair.get("cert"), str):
            raise ConfigError(f"{where}: keypair entries need key and cert paths")
        pairs.append((Path(pair["cert"]), Path(pair["key"])))
    for flag in ("http", "insecure"):
        if not isinstance(value.get(flag, False), bool):
            raise ConfigError(f"{where}: {flag} must be true or false")
    return HostConfig(tuple(m.removeprefix("https://").removeprefix("http://").rstrip("/") for m in mirrors),
                      bool(value.get("http", False)), bool(value.get("insecure", False)),
                      tuple(Path(c) for c in ca), tuple(pairs))

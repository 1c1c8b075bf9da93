"""Where credentials come from: Docker's config.json (and its helpers) and containers' auth.json.

Lookup order for a registry host, as Docker does it: ``credHelpers[host]`` (a
``docker-credential-NAME`` program), then ``credsStore`` (the same protocol, for every host),
then ``auths[host]`` (base64 ``auth`` = ``user:password``, or an ``identitytoken``). The
containers auth file ($REGISTRY_AUTH_FILE) is read after Docker's config, ``auths`` only.

Secrets live in :class:`Credentials` objects whose ``repr`` hides them; nothing here logs.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError, HostError
from dockyard.reference import DOCKER_HUB, normalize_registry

DOCKER_HUB_KEY = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Credentials:
    """A username and password, or an identity (refresh) token, or (on a remote node) a Bearer
    ``registry_token`` the client fetched for the solve's repositories, living ``expires_in``
    seconds. ``repr`` never shows secrets."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    registry_token: str = field(default="", repr=False)
    expires_in: float = 0.0

    def __repr__(self) -> str:
        kind = "registry-token" if self.registry_token else "identity-token" if self.identity_token else "password"
        return f"Credentials(username={self.username!r}, {kind}=<hidden>)"


def docker_config_dir() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    return Path(env) if env else Path.home() / ".docker"


def server_key(host: str) -> str:
    """The key a host is stored under in config.json and sent to credential helpers."""
    return DOCKER_HUB_KEY if normalize_registry(host) == DOCKER_HUB else host


def normalize_key(key: str) -> str:
    """``https://host/v1/`` and ``host`` both name ``host``; Docker Hub's keys name ``docker.io``."""
    host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return normalize_registry(host)


def read_config(path: Path) -> dict[str, Any]:
    """A config.json / auth.json as a dict ({} when absent); a ConfigError when unreadable."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {type(exc).__name__}", hint="fix or remove the file") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} is not a JSON object", hint="fix or remove the file")
    return doc


def _from_auths(doc: dict[str, Any], host: str, source: Path) -> Credentials | None:
    auths = doc.get("auths") or {}
    if not isinstance(auths, dict):
        return None
    want = normalize_registry(host)
    for key, entry in auths.items():
        if normalize_key(key) != want or not isinstance(entry, dict):
            continue
        if entry.get("identitytoken"):
            return Credentials(username=str(entry.get("username", "")),
                               identity_token=str(entry["identitytoken"]))
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                sep = ""
            if not sep:
                raise ConfigError(f"{source}: the auth entry for {host} is not base64 of user:password",
                                  hint=f"run: dockyard login {host}")
            return Credentials(user, password)
        if entry.get("username") and entry.get("password"):
            return Credentials(str(entry["username"]), str(entry["password"]))
    return None


def helper_get(helper: str, host: str) -> Credentials | None:
    """Ask ``docker-credential-HELPER get`` for ``host``; None when it has nothing stored."""
    out = _run_helper(helper, "get", server_key(host), host=host)
    if out is None:
        return None
    try:
        doc = json.loads(out)
        username, secret = str(doc.get("Username", "")), str(doc.get("Secret", ""))
    except (ValueError, AttributeError):
        raise HostError(f"docker-credential-{helper} gave an unreadable answer for {host}") from None
    if username == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(username, secret)


def helper_store(helper: str, host: str, creds: Credentials) -> None:
    payload = json.dumps({"ServerURL": server_key(host), "Username": creds.username or "<token>",
                          "Secret": creds.identity_token or creds.password})
    _run_helper(helper, "store", payload, host=host)


def helper_erase(helper: str, host: str) -> None:
    _run_helper(helper, "erase", server_key(host), host=host)


def _run_helper(helper: str, action: str, stdin: str, *, host: str) -> str | None:
    """Run a credential helper; its stderr/stdout may hold secrets, so errors quote neither."""
    program = f"docker-credential-{helper}"
    try:
        proc = subprocess.run([program, action], input=stdin, capture_output=True, text=True, timeout=30,
                              check=False)
    except FileNotFoundError:
        raise HostError(f"{program} is not installed (configured as credential helper for {host})",
                        hint="install it, or remove it from credHelpers/credsStore in config.json") from None
    except subprocess.TimeoutExpired:
        raise HostError(f"{program} {action} did not answer within 30s") from None
    if proc.returncode != 0:
        if action == "get" and "credentials not found" in proc.stdout.lower() + proc.stderr.lower():
            return None
        if action == "erase" and "not found" in proc.stdout.lower() + proc.stderr.lower():
            return None
        raise HostError(f"{program} {action} failed for {host} (exit {proc.returncode})",
                        hint=f"run '{program} {action}' by hand to see why")
    return proc.stdout


@dataclass(frozen=True)
class Keychain:
    """Finds credentials for a registry host; ``Keychain.default()`` reads the user's files."""

    docker_config: Path | None = None
    auth_file: Path | None = None
    static: dict[str, Credentials] = field(default_factory=dict, hash=False, repr=False)

    @classmethod
    def default(cls) -> Keychain:
        auth_file = os.environ.get("REGISTRY_AUTH_FILE")
        return cls(docker_config_dir() / "config.json", Path(auth_file) if auth_file else None)

    def with_static(self, host: str, creds: Credentials) -> Keychain:
        """A keychain that answers ``creds`` for ``host`` before looking anywhere else."""
        return Keychain(self.docker_config, self.auth_file, {**self.static, normalize_registry(host): creds})

    def lookup(self, host: str) -> Credentials | None:
        """Credentials for ``host`` (``docker.io`` for Docker Hub), or None for anonymous access."""
        host = normalize_registry(host)
        if host in self.static:
            return self.static[host]
        if self.docker_config is not None:
            doc = read_config(self.docker_config)
            helpers = doc.get("credHelpers") or {}
            helper = next((h for k, h in helpers.items() if normalize_key(k) == host), None) \
                if isinstance(helpers, dict) else None
            if helper:
                return helper_get(str(helper), host)
            if doc.get("credsStore"):
                found = helper_get(str(doc["credsStore"]), host)
                if found is not None:
                    return found
            found = _from_auths(doc, host, self.docker_config)
            if found is not None:
                return found
        if self.auth_file is not None:
            return _from_auths(read_config(self.auth_file), host, self.auth_file)
        return None

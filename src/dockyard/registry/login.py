"""``login`` and ``logout``: check credentials against a registry, then store or erase them.

Credentials go where Docker would put them: the host's ``credHelpers`` entry, else the
``credsStore`` helper, else ``auths`` in config.json (written atomically, mode 0600, every
other key kept). A login is verified first, so a typo never replaces working credentials.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from dockyard.errors import ConfigError
from dockyard.oci import canonical
from dockyard.reference import normalize_registry
from dockyard.registry import keychain as kc
from dockyard.registry.hosts import HostsConfig
from dockyard.registry.keychain import Credentials, Keychain
from dockyard.registry.options import TransportOptions
from dockyard.registry.transport import Session

DOCKER_HUB_API = "index.docker.io"


def api_host(server: str) -> str:
    """The API host for a server name as users type it (``docker.io`` -> ``index.docker.io``)."""
    host = kc.normalize_key(server)
    return DOCKER_HUB_API if host == "docker.io" else host


def verify(server: str, creds: Credentials, *, hosts: HostsConfig | None = None,
           options: TransportOptions | None = None) -> None:
    """Authenticate to ``server`` with ``creds``; raises AuthenticationError when refused."""
    host = api_host(server)
    session = Session(host, hosts=hosts or HostsConfig.load(), keychain=Keychain().with_static(host, creds),
                      options=options or TransportOptions())
    try:
        session.request("GET", "/v2/", scopes=[], what=f"log in to {normalize_registry(host)}")
    finally:
        session.close()


def _helper_for(doc: dict[str, Any], host: str) -> str | None:
    helpers = doc.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for key, helper in helpers.items():
            if kc.normalize_key(key) == host and helper:
                return str(helper)
    store = doc.get("credsStore")
    return str(store) if store else None


def write_config(path: Path, doc: dict[str, Any]) -> None:
    """Write config.json atomically with mode 0600 (it may hold passwords)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(canonical.encode(doc))
            f.write(b"\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


def store(server: str, creds: Credentials, *, config: Path | None = None) -> str:
    """Save ``creds`` for ``server``; returns where (``config.json`` path or ``helper NAME``)."""
    path = config or kc.docker_config_dir() / "config.json"
    host = kc.normalize_key(server)
    doc = kc.read_config(path)
    helper = _helper_for(doc, host)
    if helper:
        kc.helper_store(helper, host, creds)
        return f"credential helper {helper}"
    auths = doc.setdefault("auths", {})
    for key in [k for k in auths if kc.normalize_key(k) == host]:
        del auths[key]
    if creds.identity_token:
        auths[kc.server_key(host)] = {"identitytoken": creds.identity_token}
    else:
        raw = f"{creds.username}:{creds.password}".encode()
        auths[kc.server_key(host)] = {"auth": base64.b64encode(raw).decode()}
    write_config(path, doc)
    return str(path)


def erase(server: str, *, config: Path | None = None) -> bool:
    """Forget credentials for ``server``; False when there were none."""
    path = config or kc.docker_config_dir() / "config.json"
    host = kc.normalize_key(server)
    doc = kc.read_config(path)
    helper = _helper_for(doc, host)
    found = False
    if helper:
        found = kc.helper_get(helper, host) is not None
        kc.helper_erase(helper, host)
    auths = doc.get("auths") or {}
    keys = [k for k in auths if kc.normalize_key(k) == host]
    if keys:
        for key in keys:
            del auths[key]
        write_config(path, doc)
        found = True
    return found

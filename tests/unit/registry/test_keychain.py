"""Credentials come from credHelpers, then credsStore, then auths; auth.json after Docker's config."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from dockyard.registry import login
from dockyard.registry.keychain import Credentials, Keychain


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def helper_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A docker-credential-fake helper on PATH keeping its store in a JSON file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    store = tmp_path / "helper-store.json"
    script = bindir / "docker-credential-fake"
    script.write_text(f"""#!/usr/bin/env python3
import json, sys
path = {str(store)!r}
try:
    data = json.load(open(path))
except OSError:
    data = {{}}
action = sys.argv[1]
payload = sys.stdin.read()
if action == "get":
    key = payload.strip()
    if key not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps({{"ServerURL": key, "Username": data[key][0], "Secret": data[key][1]}}))
elif action == "store":
    doc = json.loads(payload); data[doc["ServerURL"]] = [doc["Username"], doc["Secret"]]
    json.dump(data, open(path, "w"))
elif action == "erase":
    data.pop(payload.strip(), None); json.dump(data, open(path, "w"))
""")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return store


def _write(path: Path, doc: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def test_auths_with_base64_auth_and_identity_token(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "config.json", {"auths": {
        "https://reg.test:5000/v1/": {"auth": _b64("me:pw")},
        "https://index.docker.io/v1/": {"identitytoken": "idt"},
    }})
    chain = Keychain(cfg)
    assert chain.lookup("reg.test:5000") == Credentials("me", "pw")
    hub = chain.lookup("index.docker.io")
    assert hub is not None and hub.identity_token == "idt"
    assert chain.lookup("other.test") is None


def test_precedence_cred_helpers_over_creds_store_over_auths(tmp_path: Path, helper_bin: Path) -> None:
    helper_bin.write_text(json.dumps({"reg.test": ["from-helper", "s1"]}))
    cfg = _write(tmp_path / "config.json", {"auths": {"reg.test": {"auth": _b64("from-auths:pw")},
                                                      "other.test": {"auth": _b64("o:pw")}},
                                            "credsStore": "fake", "credHelpers": {"reg.test": "fake"}})
    chain = Keychain(cfg)
    assert chain.lookup("reg.test") == Credentials("from-helper", "s1")
    # credsStore has nothing for other.test: auths answer
    assert chain.lookup("other.test") == Credentials("o", "pw")


def test_registry_auth_file_is_read_after_docker_config(tmp_path: Path) -> None:
    auth = _write(tmp_path / "auth.json", {"auths": {"reg.test": {"auth": _b64("podman:pw")}}})
    cfg = _write(tmp_path / "config.json", {"auths": {}})
    assert Keychain(cfg, auth).lookup("reg.test") == Credentials("podman", "pw")


def test_credentials_repr_hides_secrets() -> None:
    text = repr(Credentials("me", "hunter2", "tok-123"))
    assert "hunter2" not in text and "tok-123" not in text and "me" in text


def test_login_store_writes_config_with_mode_0600_and_keeps_other_keys(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "d" / "config.json", {"auths": {}, "psFormat": "table"})
    login.store("reg.test:5000", Credentials("me", "pw"), config=cfg)
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    doc = json.loads(cfg.read_text())
    assert doc["psFormat"] == "table"
    assert Keychain(cfg).lookup("reg.test:5000") == Credentials("me", "pw")
    assert login.erase("reg.test:5000", config=cfg)
    assert Keychain(cfg).lookup("reg.test:5000") is None
    assert not login.erase("reg.test:5000", config=cfg)


def test_login_store_uses_the_configured_helper(tmp_path: Path, helper_bin: Path) -> None:
    cfg = _write(tmp_path / "config.json", {"credsStore": "fake"})
    where = login.store("docker.io", Credentials("me", "pw"), config=cfg)
    assert where == "credential helper fake"
    assert json.loads(helper_bin.read_text()) == {"https://index.docker.io/v1/": ["me", "pw"]}
    assert "auths" not in json.loads(cfg.read_text())
    assert Keychain(cfg).lookup("index.docker.io") == Credentials("me", "pw")
    assert login.erase("docker.io", config=cfg)
    assert json.loads(helper_bin.read_text()) == {}

"""``dockyard registry serve --detach`` / ``registry stop`` run the real registry on loopback only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dockyard.localregistry import free_port

pytestmark = pytest.mark.integration


def _dockyard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dockyard", *args], capture_output=True, text=True, timeout=60)


def test_serve_detached_then_stop(dockyard_root: Path, tmp_path: Path) -> None:
    port = free_port()
    storage = tmp_path / "store"
    out = _dockyard("registry", "serve", "--port", str(port), "--storage", str(storage), "--detach")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"127.0.0.1:{port}"
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 200
        config = (dockyard_root / "registry" / f"registry-{port}.yml").read_text()
        assert f"addr: 127.0.0.1:{port}" in config and str(storage) in config
        again = _dockyard("registry", "serve", "--port", str(port), "--detach")
        assert again.returncode == 2 and "already runs" in again.stderr
    finally:
        stopped = _dockyard("registry", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2)
    assert _dockyard("registry", "stop").stdout.strip() == "no local registry is running"


def test_serve_with_htpasswd_requires_auth(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-Bbc", str(htpasswd), "u", "p"], check=True, capture_output=True)
    port = free_port()
    out = _dockyard("registry", "serve", "--port", str(port), "--htpasswd", str(htpasswd), "--detach")
    assert out.returncode == 0, out.stderr
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/v2/").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/v2/", auth=("u", "p")).status_code == 200
    finally:
        _dockyard("registry", "stop")


def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        out = _dockyard("registry", "serve", "--port", str(port), "--detach")
    assert out.returncode != 0
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr

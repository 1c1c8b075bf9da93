"""ADD of a URL: fetch_url against a loopback HTTP server (no other network)."""

from __future__ import annotations

import hashlib
import http.server
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.engine.fetch import fetch_url, file_name
from dockyard.errors import BuildError

_BODY = b"hello from loopback\n" * 1000
_LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"  # 1445412480


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/missing"):
            self.send_error(404)
            return
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/files/target.bin")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(_BODY)))
        self.send_header("Last-Modified", _LAST_MODIFIED)
        if self.path.startswith("/cd"):
            self.send_header("Content-Disposition", 'attachment; filename="../../named.tgz"')
        self.end_headers()
        self.wfile.write(_BODY)

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_is_0600_with_last_modified_mtime(server: str, tmp_path: Path) -> None:
    path = fetch_url(f"{server}/files/app.tar.gz?x=1", tmp_path)
    assert path == tmp_path / "app.tar.gz"
    assert path.read_bytes() == _BODY
    st = os.lstat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert int(st.st_mtime) == 1445412480
    assert [p.name for p in tmp_path.iterdir()] == ["app.tar.gz"]  # no temporary left


def test_checksum_is_verified(server: str, tmp_path: Path) -> None:
    good = "sha256:" + hashlib.sha256(_BODY).hexdigest()
    assert fetch_url(f"{server}/f/ok", tmp_path, checksum=good).read_bytes() == _BODY
    bad = "sha256:" + "0" * 64
    with pytest.raises(BuildError, match=r"digest mismatch for http://127\.0\.0\.1:\d+/f/bad"):
        fetch_url(f"{server}/f/bad", tmp_path, checksum=bad)
    assert not (tmp_path / "bad").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]


def test_invalid_checksum_is_refused_before_downloading(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="invalid checksum"):
        fetch_url("http://127.0.0.1:9/never", tmp_path, checksum="md5:abc")


def test_http_errors_name_the_url_and_status_without_credentials(server: str, tmp_path: Path) -> None:
    url = server.replace("http://", "http://user:hunter2@") + "/missing/file"
    with pytest.raises(BuildError) as info:
        fetch_url(url, tmp_path)
    message = str(info.value)
    assert "HTTP status 404" in message
    assert f"{server}/missing/file" in message
    assert "hunter2" not in message


def test_connection_errors_name_the_url(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"failed to download http://127\.0\.0\.1:9/x"):
        fetch_url("http://127.0.0.1:9/x", tmp_path)


def test_names_come_from_filename_then_content_disposition_then_the_path(server: str, tmp_path: Path) -> None:
    assert fetch_url(f"{server}/cd/whatever", tmp_path).name == "named.tgz"
    assert fetch_url(f"{server}/cd/whatever", tmp_path, filename="chosen").name == "chosen"
    assert fetch_url(f"{server}/redirect/x", tmp_path).name == "x"  # name from the URL asked for
    assert file_name("http://example.com") == "download"
    assert file_name("http://example.com/") == "download"

"""A registry that accepts connections and never answers, or answers 503 to everything (issue 18,
item 6): a push fails within its deadline with a message naming the registry and the request it
waited for, says what it waits for while it waits, and pings a failing registry once per build,
not once per concurrent blob task."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from dockyard.digest import Digest
from dockyard.oci.descriptor import Descriptor
from dockyard.registry.client import Client
from dockyard.registry.errors import ServerError
from dockyard.registry.options import TransportOptions
from dockyard.registry.retry import RetryPolicy
from dockyard.store.content import ContentStore
from tests.integration.build.buildrig import dockyard

pytestmark = pytest.mark.integration


@pytest.fixture
def black_hole() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a socket that accepts every connection and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_push_to_a_black_hole_fails_within_the_deadline_naming_what_it_waited_for(
        black_hole: str, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (ctx / "a.txt").write_text("a\n")
    out = dockyard("build", "--progress", "plain", "--push-timeout", "12s", "-t", f"{black_hole}/app:1", "--push",
                   str(ctx), check=False, timeout=120)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    error = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert error == [f"error: push to {black_hole}/app did not finish within 12s: "
                     f"no answer from {black_hole} to ping (GET /v2/); no tag was moved in any registry"], out.stderr
    assert "--push-timeout" in out.stderr  # the hint
    assert f"for {black_hole}: ping (GET /v2/)" in out.stderr  # said while waiting
    assert "waiting " in out.stderr


def test_the_push_timeout_option_is_checked_before_the_build(tmp_path: Path) -> None:
    out = dockyard("build", "--push-timeout", "soon", str(tmp_path), check=False)
    assert out.returncode == 2 and "--push-timeout" in out.stderr and "Traceback" not in out.stderr


class _Always503(http.server.BaseHTTPRequestHandler):
    pings: ClassVar[list[str]] = []

    def _answer(self) -> None:
        if self.path.startswith("/v2/") and self.path.rstrip("/") == "/v2":
            self.pings.append(self.path)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_a_failing_ping_is_sent_once_per_build_not_once_per_blob(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Always503)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    store = ContentStore(tmp_path / "content")
    layers = [store.ingest_bytes(f"layer {i}".encode()) for i in range(5)]
    config = store.ingest_bytes(b"{}")
    manifest = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config.digest}",'
        f'"size":{config.size}}},"layers":['
        + ",".join(f'{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{b.digest}","size":{b.size}}}'
                   for b in layers) + "]}").encode()
    top = store.ingest_bytes(manifest)
    desc = Descriptor(media_type="application/vnd.oci.image.manifest.v1+json", digest=Digest.parse(str(top.digest)),
                      size=top.size)
    options = TransportOptions(retry=RetryPolicy(sleep=lambda _s: None))
    try:
        with Client(transport=options, concurrency=4) as client, pytest.raises(ServerError) as failed:
            client.push(f"{host}/app:1", desc, store)
    finally:
        server.shutdown()
    assert host in failed.value.message
    # https is refused first (a plain-HTTP server), then 6 tries of http: never one ping per blob task
    assert len(_Always503.pings) == RetryPolicy().attempts


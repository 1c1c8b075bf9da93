"""A tiny HTTPS "registry" on 127.0.0.1 with its own CA, optionally requiring client certificates.

It answers ``/v2/`` with 200 and everything else with NAME_UNKNOWN: enough to tell whether a
TLS connection (and mutual TLS) was established with the trust dockyard found in certs.d.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.rig.pki import PKI

__all__ = ["PKI", "TLSServer"]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        if self.path == "/v2/":
            body, code = b"{}", 200
        else:
            body, code = json.dumps({"errors": [{"code": "NAME_UNKNOWN", "message": "no such repo"}]}).encode(), 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TLSServer:
    def __init__(self, pki: PKI, *, require_client_cert: bool = False) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.root / "server.crt", pki.root / "server.key")
        if require_client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(pki.ca)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""A small Bearer token server for the Distribution registry's ``auth.token`` mode.

It signs JWTs with an RSA key it creates, carries the matching self-signed certificate in
the ``x5c`` header, and grants scopes by a simple policy: known users get what they ask for
(``readonly`` users only ``pull``), anonymous clients get ``pull`` on ``public/*`` only.

Distribution accepts tokens up to 60 s after their ``exp`` (clock-skew leeway), so a token
meant to die after ``lifetime`` seconds is dated ``exp = now + lifetime - 60``. The
``advertised_lifetime`` (``expires_in``) can differ from the real one, to make a client meet
a token that the registry refuses before the client expected.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

LEEWAY = 60


@dataclass
class TokenPolicy:
    """Who may do what: ``users`` maps name -> password; ``readonly`` users may only pull."""

    users: dict[str, str]
    readonly: set[str] = field(default_factory=set)

    def grant(self, user: str | None, repo: str, actions: list[str]) -> list[str]:
        if user is None:
            return ["pull"] if repo.startswith("public/") and "pull" in actions else []
        if user in self.readonly:
            return [a for a in actions if a == "pull"]
        return list(actions)


class TokenServer:
    """Serves ``GET /token?service=..&scope=..`` on 127.0.0.1; start() returns the realm."""

    def __init__(self, workdir: Path, policy: TokenPolicy, *, service: str = "dockyard-test",
                 issuer: str = "dockyard-test-issuer") -> None:
        self.policy = policy
        self.service = service
        self.issuer = issuer
        self.lifetime = 300.0
        self.advertised_lifetime: float | None = None
        self.issued = 0
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._cert = _self_signed(self._key)
        self.certfile = workdir / "token-signer.crt"
        self.certfile.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._x5c = base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def realm(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/token"

    def start(self) -> str:
        self._thread.start()
        return self.realm

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def issue(self, user: str | None, scopes: list[str]) -> dict[str, object]:
        """The token response for ``user`` asking for ``scopes`` (after authentication)."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = self.policy.grant(user, name, actions.split(",")) if kind == "repository" else []
            if granted:
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + int(self.lifetime) - LEEWAY,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"x5c": [self._x5c]})
        self.issued += 1
        expires = self.advertised_lifetime if self.advertised_lifetime is not None else self.lifetime
        return {"token": token, "access_token": token, "expires_in": int(expires),
                "issued_at": dt.datetime.now(dt.UTC).isoformat()}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                return

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                if url.path != "/token" or query.get("service", [""])[0] != server.service:
                    self._send(400, {"errors": [{"code": "UNSUPPORTED", "message": "bad service or path"}]})
                    return
                user = self._authenticate()
                if user is None:
                    self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
                    return
                scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
                self._send(200, server.issue(user or None, scopes))

            def _authenticate(self) -> str | None:
                """The user name, "" for anonymous, None for bad credentials."""
                header = self.headers.get("Authorization", "")
                if not header:
                    return ""
                if not header.startswith("Basic "):
                    return None
                try:
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except ValueError:
                    return None
                ok = server.policy.users.get(user)
                return user if ok is not None and secrets.compare_digest(ok, password) else None

            def _send(self, code: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dockyard test token signer")])
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )

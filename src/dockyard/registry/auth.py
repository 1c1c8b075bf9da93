"""Registry authentication: WWW-Authenticate challenges, Basic, and Bearer tokens per scope.

A registry says how to authenticate in the ``WWW-Authenticate`` header of a 401 (``/v2/``
answers one to every client that has not authenticated). Basic sends the credentials on
every request. Bearer trades them (or nothing, for anonymous pulls) at the ``realm`` for a
token limited to a ``scope`` such as ``repository:app:pull,push``; tokens are cached per
scope and renewed shortly before they expire, and again whenever the registry answers 401 in
the middle of an operation (a token can die before its advertised end), so long pushes survive
short-lived tokens.

On a remote node the credentials may be a token the client fetched (``registry_token``, scoped
to the solve's repositories): it is sent as is, and asked for again (``relookup``) when its
``expires_in`` runs short or the registry refuses it.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from dockyard.registry import errors
from dockyard.registry.keychain import Credentials

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)')
# Renew a token when this share of its life is left (at most 10 s early), so no request starts with a dying one.
_RENEW_SHARE = 0.25
_RENEW_MAX = 10.0
_DEFAULT_LIFETIME = 60.0


@dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge: the scheme and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenge(header: str) -> Challenge | None:
    """Parse ``Bearer realm="..",service="..",scope=".."`` (or ``Basic realm=".."``).

    Quoted values may contain commas and escaped quotes. Returns None for an empty header.
    """
    header = header.strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            break
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        pos = m.end()
    return Challenge(scheme.lower(), params)


def scope_for(repository: str, actions: str) -> str:
    """A Distribution token scope, e.g. ``repository:team/app:pull,push``."""
    return f"repository:{repository}:{actions}"


@dataclass(frozen=True)
class Token:
    """A bearer token for one scope set; ``value`` never appears in a repr or log."""

    value: str = field(repr=False)
    renew_at: float  # clock() seconds after which a new token is fetched before use
    lifetime: float = _DEFAULT_LIFETIME  # seconds the token service said it lives (expires_in)


def _renew_at(started: float, lifetime: float) -> float:
    return started + lifetime - min(_RENEW_MAX, _RENEW_SHARE * lifetime)


class Authorizer:
    """The Authorization header for one registry host, fetched and cached per scope.

    ``clock`` is swappable for tests. Token requests go through ``send`` (the session's
    HTTP client), so they share its TLS settings and retries.
    """

    def __init__(self, host: str, credentials: Credentials | None, *,
                 send: Callable[[httpx.Request], httpx.Response],
                 clock: Callable[[], float] = time.monotonic,
                 relookup: Callable[[], Credentials | None] | None = None) -> None:
        self.host = host
        self.credentials = credentials
        self._relookup = relookup
        self._given: Token | None = None  # the client's registry_token, while it lives
        self._send = send
        self._clock = clock
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], Token] = {}
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def set_challenge(self, challenge: Challenge | None) -> None:
        with self._lock:
            self._challenge = challenge

    @property
    def challenge(self) -> Challenge | None:
        return self._challenge

    def header(self, scopes: Sequence[str]) -> str | None:
        """The Authorization value for a request needing ``scopes`` (None: send none)."""
        challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return self._basic()
        if challenge.scheme != "bearer":
            return None
        if self.credentials is not None and self.credentials.registry_token:
            return f"Bearer {self._given_token()}"
        key = tuple(sorted(scopes))
        with self._lock:
            token = self._tokens.get(key)
            if token is None or token.renew_at <= self._clock():
                token = self._fetch(challenge, key)
                self._tokens[key] = token
        return f"Bearer {token.value}"

    def refresh(self, scopes: Sequence[str], response: httpx.Response) -> None:
        """After a 401: adopt the new challenge and forget the token that was refused."""
        challenge = parse_challenge(response.headers.get("www-authenticate", ""))
        with self._lock:
            if challenge is not None:
                self._challenge = challenge
            self._tokens.pop(tuple(sorted(scopes)), None)
            if self._given is not None:
                self._given = Token(self._given.value, renew_at=float("-inf"))

    def scoped_token(self, scopes: Sequence[str]) -> Token | None:
        """A fresh token for exactly ``scopes`` (to hand to a remote node); None unless the
        registry answers with a Bearer challenge (``ping`` first)."""
        challenge = self._challenge
        if challenge is None or challenge.scheme != "bearer":
            return None
        return self._fetch(challenge, tuple(sorted(scopes)))

    def _given_token(self) -> str:
        with self._lock:
            creds = self.credentials
            assert creds is not None
            if self._given is None:
                self._given = Token(creds.registry_token, _renew_at(self._clock(), max(creds.expires_in, 1.0)))
            elif self._given.renew_at <= self._clock() and self._relookup is not None:
                started = self._clock()
                fresh = self._relookup()
                if fresh is not None and fresh.registry_token:
                    self.credentials = fresh
                    self._given = Token(fresh.registry_token, _renew_at(started, max(fresh.expires_in, 1.0)))
            return self._given.value

    def _basic(self) -> str | None:
        creds = self.credentials
        if creds is None or not creds.username:
            return None
        raw = f"{creds.username}:{creds.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _fetch(self, challenge: Challenge, scopes: tuple[str, ...]) -> Token:
        realm = challenge.realm
        if not realm.startswith(("http://", "https://")):
            raise errors.AuthenticationError(f"{self.host} sent a Bearer challenge without a usable realm",
                                             registry=self.host)
        service = challenge.params.get("service", "")
        creds = self.credentials
        if creds is not None and creds.identity_token:
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                    "client_id": "dockyard", "service": service, "scope": " ".join(scopes)}
            request = httpx.Request("POST", realm, data=form)
        else:
            params: list[tuple[str, str | int | float | bool | None]] = [("service", service)] if service else []
            params += [("scope", s) for s in scopes]
            headers = {}
            basic = self._basic()
            if basic:
                headers["Authorization"] = basic
            request = httpx.Request("GET", realm, params=params, headers=headers)
        started = self._clock()
        response = self._send(request)
        if response.status_code in (401, 403):
            who = f"user {creds.username!r}" if creds and creds.username else "anonymous access"
            raise errors.AuthenticationError(
                f"the token service of {self.host} refused {who} ({response.status_code})",
                registry=self.host, code="UNAUTHORIZED", status=response.status_code,
                hint=f"run: dockyard login {self.host}")
        if response.status_code != 200:
            raise errors.from_response(response, registry=self.host, what="fetch a token")
        try:
            doc = response.json()
            value = doc.get("token") or doc.get("access_token")
            lifetime = float(doc.get("expires_in") or _DEFAULT_LIFETIME)
        except (ValueError, AttributeError, TypeError):
            value, lifetime = None, 0.0
        if not isinstance(value, str) or not value:
            raise errors.AuthenticationError(f"the token service of {self.host} answered without a token",
                                             registry=self.host)
        self.tokens_fetched += 1
        lifetime = max(lifetime, 1.0)
        return Token(value, _renew_at(started, lifetime), lifetime)

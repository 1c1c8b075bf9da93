"""One registry host as an HTTP session: scheme and TLS choice, the /v2/ ping, auth and retries.

Every request to a registry goes through :meth:`Session.request`, which adds the
Authorization header for the request's scopes, renews a refused token once per request,
retries transient failures (connection resets, timeouts, 5xx, 429 with Retry-After) and
turns what is left into :mod:`dockyard.registry.errors`. Request bodies are given as
factories so that a retry re-reads the content instead of holding it in memory.

Operations that must not be replayed blindly (a PATCH of an upload: the registry may have
kept part of it) pass ``replay=False`` and handle :class:`Retryable` themselves.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

import httpx

from dockyard.errors import RegistryError
from dockyard.registry import errors
from dockyard.registry.auth import Authorizer, parse_challenge
from dockyard.registry.hosts import HostsConfig
from dockyard.registry.keychain import Keychain
from dockyard.registry.options import TransportOptions
from dockyard.registry.retry import retryable_status
from dockyard.registry.watch import Watch

Body = bytes | Callable[[], Iterable[bytes]] | None


class Retryable(Exception):
    """A transient failure of a ``replay=False`` request; ``error`` is what to raise if giving up."""

    def __init__(self, error: RegistryError, response: httpx.Response | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.response = response


class Session:
    """HTTP access to one registry host (``host[:port]``); thread-safe.

    A failed /v2/ ping is remembered: every later request of the session (the concurrent blob
    tasks of a push) fails with it at once instead of pinging again. ``watch`` sees every
    request in flight and holds the deadline of the current push (:mod:`dockyard.registry.watch`).
    """

    def __init__(self, host: str, *, hosts: HostsConfig, keychain: Keychain, options: TransportOptions,
                 watch: Watch | None = None) -> None:
        self.host = host
        self.options = options
        self.watch = watch or Watch()
        self._hosts = hosts
        self._trust = Trust(hosts, host)
        self._probing = threading.local()  # set while the ping tries HTTPS before any CA is loaded
        self._client = self._make_client()
        self.auth = Authorizer(host, keychain.lookup(host), send=self._send_token_request,
                               relookup=lambda: keychain.lookup(host))
        self._base: str | None = None
        self._ping_error: RegistryError | None = None
        self._ping_lock = threading.Lock()

    def _make_client(self) -> httpx.Client:
        opts = self.options
        return httpx.Client(
            verify=False if self._hosts.get(self.host).insecure else self._trust.context,
            event_hooks={"request": [self._before_send]},
            timeout=httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout),
            limits=httpx.Limits(max_connections=opts.max_connections,
                                max_keepalive_connections=opts.max_connections),
            transport=opts.transport,
            headers={"User-Agent": opts.user_agent},
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def _before_send(self, request: httpx.Request) -> None:
        """httpx's request hook (every request, redirects and token fetches included): the CAs are
        loaded before the first HTTPS request that could verify a certificate."""
        if request.url.scheme == "https" and not getattr(self._probing, "active", False):
            self._trust.load()

    # -- the /v2/ ping decides the scheme and learns the auth challenge --------------------------
    @property
    def base_url(self) -> str:
        if self._base is None:
            self.ping()
        assert self._base is not None
        return self._base

    def ping(self, *, keep_failure: bool = True) -> None:
        """GET /v2/ over each allowed scheme until one answers; remember scheme and challenge.

        ``keep_failure=False`` (a ping ahead of need, :meth:`Client.connect_early`) leaves a failure
        unremembered: the first real request pings again and reports it, as without the early ping."""
        with self._ping_lock:
            if self._base is not None:
                return
            if self._ping_error is not None:
                raise self._ping_error
            try:
                self._ping()
            except RegistryError as exc:
                if keep_failure:
                    self._ping_error = exc
                raise

    def _ping(self) -> None:
        last: httpx.TransportError | None = None
        schemes = self._hosts.schemes(self.host)
        for i, scheme in enumerate(schemes):
            base = f"{scheme}://{self.host}"
            # Another scheme remains: fail over at once. After a TLS failure, plain HTTP is a guess
            # (a TLS-only server drops it): no retries either, so a wrong guess fails fast.
            guess = i + 1 < len(schemes) or (last is not None and errors.is_tls_failure(last))
            try:
                response = self._probe(base, guess=guess)
            except httpx.TransportError as exc:
                # keep a TLS failure over the plain-HTTP fallback's: it says what to fix (the CA)
                if last is None or not errors.is_tls_failure(last):
                    last = exc
                continue
            if response.status_code == 400 and last is not None and errors.is_tls_failure(last):
                # Go's TLS servers answer plain HTTP with 400 ("an HTTP request to an HTTPS server"):
                # the registry speaks TLS, so the certificate is what to fix, not the scheme
                raise errors.from_transport(last, registry=self.host, what="contact the registry")
            if response.status_code == 401:
                self.auth.set_challenge(parse_challenge(response.headers.get("www-authenticate", "")))
            elif response.status_code >= 400 and response.status_code != 404:
                raise errors.from_response(response, registry=self.host, what="contact the registry")
            self._base = base
            return
        assert last is not None
        raise errors.from_transport(last, registry=self.host, what="contact the registry")

    def _probe(self, base: str, *, guess: bool) -> httpx.Response:
        """GET ``base``/v2/. Where plain HTTP is the next guess (loopback and insecure registries),
        HTTPS is tried first without the CAs loaded: a plain-HTTP server fails the handshake before
        any certificate is seen, and a TLS one fails on its certificate (none verifies against no
        CA), which is then tried again with the CAs. An HTTPS-only registry loads them at once."""
        get = functools.partial(self._get, f"{base}/v2/")
        if guess and base.startswith("https:") and not self._trust.loaded:
            self._probing.active = True
            try:  # once, unverifiable: a failure other than the certificate's is the scheme's answer
                return self._with_retries(get, what="ping (GET /v2/)", retry_connect=False, retry_transport=False)
            except httpx.TransportError as exc:
                if not _certificate_refused(exc):
                    raise
            finally:
                self._probing.active = False
        # the request hook loads the CAs before this one goes out over HTTPS
        return self._with_retries(get, what="ping (GET /v2/)", retry_connect=False, retry_transport=not guess)

    def _with_retries(self, call: Callable[[], httpx.Response], *, what: str,
                      retry_connect: bool = True, retry_transport: bool = True) -> httpx.Response:
        """Run ``call`` retrying transport errors and retryable statuses; returns the last response."""
        policy = self.options.retry
        for attempt in range(1, policy.attempts + 1):
            try:
                with self.watch.waiting(self.host, what):
                    response = call()
            except httpx.TransportError as exc:
                if attempt == policy.attempts or not retry_transport or (
                        not retry_connect and isinstance(exc, httpx.ConnectError)):
                    self.watch.remaining()  # past the deadline: say so rather than "timed out"
                    raise
                policy.sleep(self.watch.cap(policy.delay(attempt)))
                continue
            if retryable_status(response.status_code) and attempt < policy.attempts:
                policy.sleep(self.watch.cap(policy.delay(attempt, response)))
                continue
            return response
        raise AssertionError("unreachable")

    def _get(self, url: str) -> httpx.Response:
        return self._client.get(url, timeout=self._timeout())

    def _timeout(self) -> httpx.Timeout:
        """The client's timeouts, shortened to what is left of the watch's deadline."""
        read = self.watch.cap(self.options.read_timeout)
        return httpx.Timeout(read, connect=min(self.options.connect_timeout, read))

    def _send_token_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._with_retries(lambda: self._client.send(request), what="fetch a token")
        except httpx.TransportError as exc:
            raise errors.from_transport(exc, registry=request.url.netloc.decode(), what="fetch a token") from None

    # -- requests ---------------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + path_or_url

    def request(  # noqa: C901, PLR0912 - the retry loop: each transport failure and status class handled where it happens
        self,
        method: str,
        path_or_url: str,
        *,
        scopes: Sequence[str],
        what: str,
        expect: Sequence[int] = (200,),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        replay: bool = True,
    ) -> httpx.Response:
        """Send one registry request; the response has a status in ``expect`` (else an error).

        With ``stream=True`` the body is not read: close the response. With ``replay=False``
        transient failures raise :class:`Retryable` instead of being retried here.
        """
        url = httpx.URL(self.url(path_or_url))
        if params:  # merged: an upload Location carries its own query (_state=...) that must be kept
            url = url.copy_merge_params(dict(params))
        policy = self.options.retry
        reauthenticated = False
        attempt = 0
        while True:
            attempt += 1
            send_headers = dict(headers or {})
            authorization = self.auth.header(scopes)
            if authorization:
                send_headers["Authorization"] = authorization
            content = body() if callable(body) else body
            request = self._client.build_request(method, url, headers=send_headers, content=content,
                                                 timeout=self._timeout())
            try:
                with self.watch.waiting(self.host, what):
                    response = self._client.send(request, stream=True)
                    status = response.status_code
                    if status not in expect or not stream:
                        try:  # the body of an error, or of a small answer: read it now, inside the retry
                            response.read()
                        finally:
                            response.close()
            except httpx.TransportError as exc:
                self.watch.remaining()  # past the deadline: say so rather than "timed out"
                error = errors.from_transport(exc, registry=self.host, what=what)
                if not replay:
                    raise Retryable(error) from exc
                if attempt >= policy.attempts:
                    raise error from None
                policy.sleep(self.watch.cap(policy.delay(attempt)))
                continue
            if status in expect:
                return response
            if status == 401 and not reauthenticated:
                reauthenticated = True
                self.auth.refresh(scopes, response)
                attempt -= 1
                continue
            refused = errors.from_response(response, registry=self.host, what=what)
            if status == 401 and self.auth.credentials is not None:
                refused = self._insufficient_scope(response, refused, scopes)
            if retryable_status(status):
                if not replay:
                    raise Retryable(refused, response)
                if attempt < policy.attempts:
                    policy.sleep(self.watch.cap(policy.delay(attempt, response)))
                    continue
            raise refused

    def _insufficient_scope(self, response: httpx.Response, refused: RegistryError,
                            scopes: Sequence[str]) -> RegistryError:
        """Logged in, yet refused with ``error="insufficient_scope"``: the account lacks the right."""
        challenge = parse_challenge(response.headers.get("www-authenticate", ""))
        if challenge is None or challenge.params.get("error") != "insufficient_scope":
            return refused
        wanted = challenge.params.get("scope") or " ".join(scopes)
        user = self.auth.credentials.username if self.auth.credentials else ""
        return errors.AccessDeniedError(
            f"{refused.message} (user {user!r} was not granted {wanted})", registry=self.host, code="DENIED",
            status=401, hint="ask for access to the repository, or log in as a user who has it")


def _certificate_refused(exc: BaseException) -> bool:
    """True when the TLS handshake failed on verifying the server's certificate."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


class Trust:
    """A host's TLS context, whose CAs (the system's, certs.d's, registries.toml's) and client
    certificates load on first need.

    Loading the system CA bundle costs tens of milliseconds per context, and most registries a
    local build talks to are loopback ones speaking plain HTTP: a warm build or a push to them
    never pays for it. The context verifies as ``ssl.create_default_context()`` does
    (``PROTOCOL_TLS_CLIENT``: certificate required, hostname checked); until :meth:`load` it
    trusts nothing, so no handshake can succeed unverified.
    """

    def __init__(self, hosts: HostsConfig, host: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.loaded = False
        self._hosts = hosts
        self._host = host
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self.loaded:
                return
            self.context.load_default_certs(ssl.Purpose.SERVER_AUTH)
            for ca in self._hosts.ca_files(self._host):
                self.context.load_verify_locations(cafile=str(ca))
            for cert, key in self._hosts.client_certs(self._host):
                self.context.load_cert_chain(str(cert), str(key))
            self.loaded = True

"""WWW-Authenticate parsing and per-scope token caching."""

from __future__ import annotations

import httpx

from dockyard.registry.auth import Authorizer, parse_challenge
from dockyard.registry.keychain import Credentials


def test_bearer_challenge_with_commas_and_escapes() -> None:
    ch = parse_challenge('Bearer realm="https://auth.example/token",service="registry.example",'
                         'scope="repository:a/b:pull,push",error="in\\"valid"')
    assert ch is not None
    assert ch.scheme == "bearer"
    assert ch.realm == "https://auth.example/token"
    assert ch.params["service"] == "registry.example"
    assert ch.params["scope"] == "repository:a/b:pull,push"
    assert ch.params["error"] == 'in"valid'


def test_basic_and_unquoted() -> None:
    ch = parse_challenge("Basic realm=dockyard-local")
    assert ch is not None and ch.scheme == "basic" and ch.realm == "dockyard-local"
    assert parse_challenge("") is None


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tokens_are_cached_per_scope_and_renewed_before_expiry() -> None:
    requests: list[httpx.Request] = []

    def send(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"token": f"t{len(requests)}", "expires_in": 60})

    clock = _Clock()
    auth = Authorizer("r.test", Credentials("u", "p"), send=send, clock=clock)
    auth.set_challenge(parse_challenge('Bearer realm="https://auth.test/token",service="svc"'))
    assert auth.header(["repository:a:pull"]) == "Bearer t1"
    assert auth.header(["repository:a:pull"]) == "Bearer t1"
    assert auth.header(["repository:a:pull,push"]) == "Bearer t2"
    assert requests[0].url.params.get_list("scope") == ["repository:a:pull"]
    assert requests[0].url.params["service"] == "svc"
    assert requests[0].headers["authorization"].startswith("Basic ")
    clock.now += 50  # within the renewal margin (last 10 s of 60)
    assert auth.header(["repository:a:pull"]) == "Bearer t3"


def test_identity_token_uses_the_oauth2_refresh_grant() -> None:
    seen: list[httpx.Request] = []

    def send(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"access_token": "at"})

    auth = Authorizer("r.test", Credentials(identity_token="refresh-secret"), send=send)
    auth.set_challenge(parse_challenge('Bearer realm="https://auth.test/token",service="svc"'))
    assert auth.header(["repository:a:pull"]) == "Bearer at"
    assert seen[0].method == "POST"
    assert b"grant_type=refresh_token" in seen[0].content


def test_basic_challenge_sends_credentials() -> None:
    auth = Authorizer("r.test", Credentials("u", "p"), send=lambda r: httpx.Response(500))
    auth.set_challenge(parse_challenge('Basic realm="x"'))
    assert auth.header([]) == "Basic dTpw"


def test_a_given_registry_token_is_sent_as_is_and_asked_for_again_when_it_runs_out() -> None:
    """A remote node's credentials are a token the client fetched: the node never trades anything
    at the realm itself, and asks the client again near ``expires_in`` or after a 401."""
    def send(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the node fetched a token itself: {request.url}")

    asked: list[str] = []

    def relookup() -> Credentials:
        asked.append("again")
        return Credentials(registry_token=f"given{len(asked) + 1}", expires_in=60)

    clock = _Clock()
    auth = Authorizer("r.test", Credentials(registry_token="given1", expires_in=60), send=send, clock=clock,
                      relookup=relookup)
    auth.set_challenge(parse_challenge('Bearer realm="https://auth.test/token",service="svc"'))
    assert auth.header(["repository:a:pull"]) == "Bearer given1"
    assert auth.header(["repository:b:pull,push"]) == "Bearer given1"  # the client chose the scopes
    clock.now += 50  # within the renewal margin
    assert auth.header(["repository:a:pull"]) == "Bearer given2"
    auth.refresh(["repository:a:pull"], httpx.Response(401, headers={"www-authenticate": 'Bearer realm="https://auth.test/token"'}))
    assert auth.header(["repository:a:pull"]) == "Bearer given3"
    assert len(asked) == 2

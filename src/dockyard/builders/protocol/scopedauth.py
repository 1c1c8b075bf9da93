"""What the client answers a node's ``credentials?``: a token scoped to the solve, not the password.

BuildKit's session auth provider hands a builder tokens the client fetched for exact scopes; the
same here. For a registry that answers ``/v2/`` with a Bearer challenge the client fetches one
token itself, for exactly the repositories the platform's solve touches on that host (``pull``
for base images and ``--cache-from``, ``pull,push`` for the push targets and ``--cache-to``), and
the node is sent that token and its ``expires_in``, never the password or identity token: a node
that leaks it leaks minutes of access to those repositories. Registries with Basic auth only have
no token to give: they still get the host's username and password (there is nothing narrower).
A pull-through mirror (registries.toml) of a pulled repository's registry gets ``pull`` on the
same repository; a Bearer host the solve does not name gets nothing (the node goes anonymous).
"""

from __future__ import annotations

import contextlib

from dockyard.builders.protocol.frames import Message
from dockyard.engine.solverequest import SolveRequest
from dockyard.errors import DockyardError
from dockyard.graph import ops
from dockyard.graph.definition import deserialize
from dockyard.reference import Reference
from dockyard.registry.auth import scope_for
from dockyard.registry.client import Client
from dockyard.registry.hosts import HostsConfig

PULL, PUSH = "pull", "pull,push"


def solve_scopes(request: SolveRequest, push: tuple[str, ...], *,
                 hosts: HostsConfig) -> dict[str, tuple[str, ...]]:
    """API host -> the token scopes the platform's solve needs there (push wins over pull per
    repository); pulls may also go to the registry's mirrors in ``hosts``."""
    wanted: dict[tuple[str, str], str] = {}

    def want(text: str, actions: str) -> None:
        with contextlib.suppress(DockyardError, ValueError):
            ref = Reference.parse(text, default_tag=None)
            mirrors = hosts.get(ref.registry).mirrors
            for key, granted in [((ref.api_host, ref.repository), actions), *(((m, ref.repository), PULL)
                                                                             for m in mirrors)]:
                if wanted.get(key) != PUSH:
                    wanted[key] = granted

    for op in deserialize(request.definition).by_key.values():
        if isinstance(op, ops.ImageSource):
            want(op.ref, PULL)
    for imp in request.cache_from:
        if imp.ref is not None:
            want(str(imp.ref), PULL)
    for exp in request.cache_to:
        if exp.ref is not None:
            want(str(exp.ref), PUSH)
    for name in push:
        want(name, PUSH)
    scopes: dict[str, list[str]] = {}
    for (host, repository), actions in sorted(wanted.items()):
        scopes.setdefault(host, []).append(scope_for(repository, actions))
    return {host: tuple(s) for host, s in scopes.items()}


def answer(registry: Client, host: str, scopes: dict[str, tuple[str, ...]]) -> Message:
    """The ``credentials`` frame for ``host``: a scoped token where the registry gives one."""
    message: Message = {"type": "credentials", "host": host}
    session = registry.session(host)
    try:  # a failure here is the node's to meet (an UNAUTHORIZED naming the registry), never a hang
        session.ping()
        challenge = session.auth.challenge
        if challenge is not None and challenge.scheme == "bearer" and host in scopes:
            token = session.auth.scoped_token(scopes[host])
            if token is not None:
                message.update(registry_token=token.value, expires_in=token.lifetime)
    except DockyardError:
        return message
    creds = session.auth.credentials
    if challenge is not None and challenge.scheme == "basic" and creds is not None:
        # Basic only: the host's own credentials are all there is to give
        message.update(username=creds.username, password=creds.password, identity_token=creds.identity_token)
    return message

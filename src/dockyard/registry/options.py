"""How the registry client connects and uploads: plain values, apart from the HTTP code.

Kept out of ``transport`` and ``blobs`` so that making a :class:`~dockyard.registry.client.Client`
imports no HTTP library: a build that contacts no registry never loads httpx
(``tests/integration/build/test_startup_imports.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.registry.retry import RetryPolicy

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, kw_only=True)
class TransportOptions:
    """How sessions connect: retries, timeouts, pool size, and an httpx transport for tests."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_connections: int = 16
    transport: httpx.BaseTransport | None = None
    user_agent: str = "dockyard/0.1"


@dataclass(frozen=True, kw_only=True)
class UploadOptions:
    """``chunk_size``: bytes per PATCH (None: the whole blob in one PATCH); ``whole_put_max``: blobs up
    to this size (and to ``chunk_size``) go in the PUT that commits the upload, as containerd sends
    every blob (remotes/docker/pusher.go), saving a round trip per blob; larger ones are PATCHed, so
    that a cut-off upload resumes where the registry's copy ends.

    The two defaults are equal: a failed whole PUT sends at most one chunk again, and the separate
    commit after a PATCH cost a 50 MB layer 20-40 ms more on a loopback Distribution registry
    (issue 17, measured in the push2 bench's setup)."""

    chunk_size: int | None = 64 << 20
    whole_put_max: int = 64 << 20

"""When and how long to wait before trying a registry request again.

Transient failures are the norm on big pushes (proxies answering 502/503, rate limits, resets
mid-upload): they are retried with exponential backoff and jitter, and a 429's or 503's
``Retry-After`` is honoured (capped, so a hostile value cannot hang a build).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """``attempts`` counts the first try; waits grow ``base * 2**n`` up to ``cap``, with jitter."""

    attempts: int = 6
    base: float = 0.25
    cap: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` starts at 1)."""
        if response is not None:
            after = retry_after(response)
            if after is not None:
                return min(after, self.max_retry_after)
        ceiling = min(self.cap, self.base * (2 ** (attempt - 1)))
        import random  # only when a request is retried

        return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    import email.utils  # only for an HTTP-date Retry-After: not on every start

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retryable_status(status: int) -> bool:
    return status in RETRY_STATUS

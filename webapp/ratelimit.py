"""Per-client rate limit: a token bucket per client IP on every path but static files.

Each client IP gets a bucket of ``rate_burst`` tokens refilled at ``rate_limit``
tokens a second; a request takes one. A client whose bucket is empty gets 429 with
``Retry-After`` (seconds until a token is back), so a flooding client is slowed down
without touching the latency of the others. The endpoint, the API, the write paths,
reconciliation and the pages share one bucket per client (a page runs queries too);
static files cost nothing to serve and are not limited. The client IP is the
connection's address, or the one trusted proxies report (``trusted_proxies``, applied
by :class:`werkzeug.middleware.proxy_fix.ProxyFix` before this sees the request).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, request
from werkzeug.exceptions import TooManyRequests

from webapp.context import EXTENSION, AppState

#: Paths the limit does not apply to: the static files pages load.
UNLIMITED_PREFIXES = ("/static/",)

#: Most client buckets kept; beyond it, full (idle) buckets are forgotten.
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Token buckets by client key, thread-safe.

    Args:
        rate: tokens added per second (0 = unlimited).
        burst: most tokens a bucket holds.
        clock: seconds from a monotonic clock (tests pass their own).

    >>> clock = iter([0.0, 0.0, 0.0]).__next__
    >>> buckets = TokenBuckets(1.0, 2, clock=clock)
    >>> [buckets.take("a") for _ in range(3)]
    [0.0, 0.0, 1.0]
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token from *key*'s bucket.

        Returns:
            0.0 if the request may go ahead, else the seconds until a token is back.
        """
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_CLIENTS:
                    self._forget_idle(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate
            )
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.rate >= self.burst
        ]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


def is_limited(path: str) -> bool:
    """Whether requests to *path* count against the client's rate limit.

    >>> is_limited("/sparql"), is_limited("/degrees"), is_limited("/static/a.js")
    (True, True, False)
    """
    return not path.startswith(UNLIMITED_PREFIXES)


def init_app(app: Flask) -> None:
    """Limit each client IP to the configured rate on every path
    :func:`is_limited`."""
    app_state = app.extensions[EXTENSION]
    assert isinstance(app_state, AppState)
    config = app_state.config
    buckets = TokenBuckets(config.rate_limit, config.rate_burst)
    app.extensions["mededkg.ratelimit"] = buckets

    @app.before_request
    def limit_rate() -> None:
        if not is_limited(request.path):
            return
        wait = buckets.take(request.remote_addr or "")
        if wait:
            retry_after = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"more than {buckets.rate:g} requests a second from your address; "
                f"retry in {retry_after} s",
                retry_after=retry_after,
            )

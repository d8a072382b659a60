"""Optional per-client rate limiting: a token bucket per client address, off by default.

Buckets live in each worker process, so with N gunicorn workers a client may get up to N times
the configured rate; this guards against a runaway script, not a determined attacker, which is
a job for the proxy in front.
"""

from __future__ import annotations

import math
import threading
import time

from flask import Flask, request

from service.errors import ApiError

# Probes and scrapes must never be refused: an orchestrator would restart a healthy server.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Buckets kept before idle ones (full again) are dropped, so memory stays bounded.
MAX_CLIENTS = 10_000


class RateLimiter:
    """`per_minute` requests per client on average, with bursts of up to `burst`."""

    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or max(10, per_minute // 6))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one request of `client`'s allowance: 0 when allowed, else seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, stamp = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > MAX_CLIENTS:
                    self._forget_idle(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full_after = self.capacity / self.rate
        for client, (_, stamp) in list(self._buckets.items()):
            if now - stamp >= full_after:
                del self._buckets[client]


def init_rate_limit(app: Flask, per_minute: int, burst: int | None = None) -> None:
    """Refuse a client's requests beyond `per_minute` with a 429; 0 turns limiting off."""
    if per_minute <= 0:
        return
    limiter = RateLimiter(per_minute, burst)
    app.extensions["rate_limiter"] = limiter

    @app.before_request
    def limit() -> None:
        if request.path in EXEMPT_PATHS:
            return
        wait = limiter.take(request.remote_addr or "unknown")
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too many requests from this client: the limit is {per_minute} per minute. "
                f"Try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )

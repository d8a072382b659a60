"""Optional rate limiting: off by default; when on, a client over its rate gets a clear 429."""

from __future__ import annotations

from service.ratelimit import RateLimiter
from tests.test_contract import assert_conforms


def test_a_bucket_allows_bursts_then_the_average_rate() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a", now=0.0) == 1.0  # one token a second
    assert limiter.take("b", now=0.0) == 0.0  # another client has its own bucket
    assert limiter.take("a", now=1.0) == 0.0
    assert limiter.take("a", now=1.5) == 0.5


def test_idle_clients_are_forgotten_so_memory_stays_bounded(monkeypatch) -> None:
    monkeypatch.setattr("service.ratelimit.MAX_CLIENTS", 5)
    limiter = RateLimiter(per_minute=60, burst=2)
    for n in range(5):
        limiter.take(f"old{n}", now=0.0)
    limiter.take("new", now=100.0)
    assert set(limiter._buckets) == {"new"}


def test_off_by_default(client) -> None:
    statuses = {client.get("/v1/articles?limit=1").status_code for _ in range(30)}
    assert statuses == {200}


def test_over_the_limit_is_a_429_problem_with_retry_after(make_app) -> None:
    app = make_app(rate_limit=60, rate_burst=3)
    client = app.test_client()
    answers = [client.get("/v1/match?line=APM") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["Retry-After"] == "1"
    assert "60 per minute" in refused.get_json()["detail"]
    assert_conforms("get", "/v1/match", refused)
    # Health probes are never refused, or an orchestrator would restart a busy server.
    assert {client.get("/healthz").status_code for _ in range(10)} == {200}

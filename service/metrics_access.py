"""Who may read /metrics: callers with its token, or callers of a listener of its own.

Metrics say how busy the server is, which routes fail and how big the knowledge base is: fine
for a scraper, not for everyone who can reach the API. Either guard is optional and they
combine; with neither, /metrics stays open as before.

- `KB_METRICS_TOKEN`: /metrics answers only requests with `Authorization: Bearer <token>`.
- `KB_METRICS_BIND`: `kb serve` also listens there (typically on a private address), that
  listener serves /metrics and nothing else, and the API's listener no longer serves it.
"""

from __future__ import annotations

import hmac

from flask import Flask, request

from service.config import Config
from service.errors import ApiError

METRICS_PATH = "/metrics"


def metrics_listener(config: Config, host: str, port: int) -> list[str]:
    """The gunicorn arguments that bind /metrics' own listener (none when it has none)."""
    metrics_port = config.metrics_port
    if metrics_port is None:
        return []
    if metrics_port == port:
        raise SystemExit(
            f"KB_METRICS_BIND must name a port other than the API's ({port}): /metrics is told "
            "apart by the port a request arrives on"
        )
    bind = config.metrics_bind if ":" in config.metrics_bind else f"{host}:{metrics_port}"
    return ["--bind", bind]


def init_metrics_access(app: Flask, token: str = "", port: int | None = None) -> None:
    """Guard /metrics with `token` and/or serve it only on `port`; neither leaves it open."""
    if not token and port is None:
        return
    expected = token.encode("utf-8")

    @app.before_request
    def guard_metrics() -> None:
        asks_metrics = request.path == METRICS_PATH
        if port is not None:
            # The port of the listening socket the request came in on (gunicorn sets it from
            # the socket, not from the Host header a client could choose).
            on_metrics_listener = request.environ.get("SERVER_PORT") == str(port)
            if asks_metrics != on_metrics_listener:
                raise ApiError(404, f"Nothing is served at {request.path} on this port.")
        if token and asks_metrics:
            scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
            given = presented.strip().encode("utf-8")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given, expected):
                raise ApiError(
                    401,
                    "Metrics need Authorization: Bearer <the token in KB_METRICS_TOKEN>.",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )

"""Request ids, and Prometheus metrics that add up across gunicorn's worker processes.

Under gunicorn the config sets PROMETHEUS_MULTIPROC_DIR before any worker starts, and each
worker writes its samples there; `/metrics` merges them. Without it (tests, one process) the
default registry serves.
"""

from __future__ import annotations

import os
import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from service.matching.rank import CONFIDENT

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

REQUESTS = Counter(
    "kb_http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
LATENCY = Histogram(
    "kb_http_request_duration_seconds",
    "Time to answer a request, in the application",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MATCH_OUTCOMES = Counter(
    "kb_match_outcomes_total",
    f"Matches by outcome: confident (top match >= {CONFIDENT}), weak (below), none",
    ["outcome"],
)


def record_match(matches: list[dict]) -> None:
    if not matches:
        MATCH_OUTCOMES.labels("none").inc()
    elif matches[0]["confidence"] >= CONFIDENT:
        MATCH_OUTCOMES.labels("confident").inc()
    else:
        MATCH_OUTCOMES.labels("weak").inc()


class KnowledgeBaseCollector:
    """Sizes read at scrape time: articles in the store, documents and bytes of the index."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        knowledge = self.app.extensions["kb"]
        articles = GaugeMetricFamily("kb_articles", "Articles in the store")
        documents = GaugeMetricFamily("kb_index_documents", "Documents in the Whoosh index")
        size = GaugeMetricFamily("kb_index_bytes", "Size of the Whoosh index on disk")
        articles.add_metric([], knowledge.store.count("articles"))
        documents.add_metric([], knowledge.index.document_count())
        size.add_metric([], knowledge.index.size_on_disk())
        yield from (articles, documents, size)


def init_observability(app: Flask) -> None:
    """Request ids on every request and response, metrics per route, and `/metrics`."""

    @app.before_request
    def assign_request_id() -> None:
        # The server makes every request id: a match's id is what feedback names it by, and a
        # client choosing one could overwrite another's. What a client sends (X-Correlation-ID,
        # or X-Request-ID from a proxy) is kept beside it, to follow a request across systems.
        g.request_id = uuid.uuid4().hex
        given = request.headers.get("X-Correlation-ID") or request.headers.get("X-Request-ID")
        g.correlation_id = given if given and REQUEST_ID.match(given) else None
        g.metrics_started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        correlation_id = g.get("correlation_id")
        if correlation_id:
            response.headers["X-Correlation-ID"] = correlation_id
        started = g.get("metrics_started")
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if started is not None and route != "/metrics":
            LATENCY.labels(route).observe(time.perf_counter() - started)
            REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            requests = CollectorRegistry()
            multiprocess.MultiProcessCollector(requests)
        else:
            requests = REGISTRY
        sizes = CollectorRegistry()
        sizes.register(KnowledgeBaseCollector(app))
        body = generate_latest(requests) + generate_latest(sizes)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

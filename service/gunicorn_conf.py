"""Gunicorn settings for `kb serve`; the command line may override bind and workers."""

import gc
import json
import os
import re

from gunicorn.glogging import Logger

from service import limits

workers = int(os.environ.get("KB_WORKERS", min(4, (os.cpu_count() or 1) + 1)))
# The sync worker, answering the 414 and 431 it gives itself as problem+json.
worker_class = "service.gunicorn_worker.ProblemSyncWorker"
# A log line may be sent in the query string, so the request line may be as long as gunicorn
# allows (its default is half that); the contract quotes the same numbers.
limit_request_line = limits.REQUEST_LINE_BYTES
limit_request_field_size = limits.REQUEST_HEADER_BYTES
limit_request_fields = limits.REQUEST_HEADERS
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (a guard against slow leaks), staggered so they never all
# restart at once; rarely, since a new worker starts with empty caches.
max_requests = 50_000
max_requests_jitter = 5_000
# Build or repair the store once in the master, not in every worker at the same time.
preload_app = True
accesslog = "-"
errorlog = "-"
loglevel = "info"
# Gunicorn's control socket (`gunicornc`) is one path per user by default: a second instance on
# the host takes it over and stopping either deletes it. Off unless KB_CONTROL_SOCKET names a
# path of this instance's own. (Gunicorn before 25.1 has no control socket and ignores these.)
control_socket_disable = not os.environ.get("KB_CONTROL_SOCKET")
if os.environ.get("KB_CONTROL_SOCKET"):
    control_socket = os.environ["KB_CONTROL_SOCKET"]

# Metrics from all workers are merged through files in PROMETHEUS_MULTIPROC_DIR, which
# `kb serve` sets before gunicorn starts (it must be set before prometheus_client is imported).


# Python's cycle collector with its defaults (a collection every 700 new objects, a full one
# every so often) walks every object a worker holds, the app's modules and data included: on the
# 60,000-article store a full collection took about 100 ms and came every few hundred requests,
# most of the slowest answers. Workers collect young objects every 10,000 allocations instead, so
# a request's own objects are mostly freed before they are looked at, and full collections come
# far less often.
GC_THRESHOLDS = (10_000, 20, 20)


def pre_fork(server, worker):
    # What the master loaded lives as long as the workers do: frozen, no collection in a worker
    # walks it again, and its memory pages stay shared with the master instead of being copied
    # when a collection would write to them.
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    gc.set_threshold(*GC_THRESHOLDS)


def post_worker_init(worker):
    # A node on a shared database follows other nodes' writes from one of its workers
    # (service/follow.py): each worker offers, at once rather than at its first request.
    knowledge = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("kb")
    follower = knowledge.follower if knowledge is not None else None
    if follower is not None:
        follower.ensure_running()


def child_exit(server, worker):
    # A dead worker's live gauges are files to remove only where workers share their metrics
    # through files (`kb serve` sets the directory; gunicorn run on this config alone does not).
    # Never raises: an exception in a hook stops the master, and every worker with it.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import multiprocess

    try:
        multiprocess.mark_process_dead(worker.pid)
    except OSError as exc:
        server.log.warning("metrics files of worker %s not removed: %s", worker.pid, exc)


# Query parameters whose values are credentials, by the end of their name once lower-cased
# and stripped of separators (access_token, api-key, clientSecret, X-Amz-Signature...).
CREDENTIAL_NAME = re.compile(
    r"(token|password|passwd|pwd|passphrase|secret|key|auth|authorization|credentials?"
    r"|signature|sig|session|sessionid|jwt|otp)$"
)
REDACTED = "REDACTED"


def redact_query(query: str) -> str:
    """The query string with the values of credential parameters replaced by REDACTED.

    Everything else is kept as sent (still percent-encoded), so a log line shows what was
    asked; a token pasted into a URL never reaches the log, wherever in the query it is.
    """
    if not query:
        return query
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        # Names compared decoded: `access%5Ftoken` and `access_token` are the same parameter.
        plain = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), name)
        plain = re.sub(r"[^a-z0-9]", "", plain.replace("+", "").lower())
        if equals and CREDENTIAL_NAME.search(plain):
            part = f"{name}={REDACTED}"
        parts.append(part)
    return "&".join(parts)


class JsonAccessLogger(Logger):
    """One JSON object per request, request id included, safe whatever the client sends."""

    def access(self, resp, req, environ, request_time):
        if not self.cfg.accesslog:
            return
        headers = {name.lower(): value for name, value in resp.headers}
        record = {
            "remote": environ.get("REMOTE_ADDR"),
            "method": req.method,
            "path": req.path,
            "query": redact_query(req.query),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": headers.get("x-request-id"),
            "correlation_id": headers.get("x-correlation-id"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        self.access_log.info(json.dumps(record))


logger_class = JsonAccessLogger

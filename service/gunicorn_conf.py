"""Gunicorn settings for `kb serve`; the command line may override bind and workers."""

import json
import os

from gunicorn.glogging import Logger

workers = int(os.environ.get("KB_WORKERS", min(4, (os.cpu_count() or 1) + 1)))
worker_class = "sync"
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

# Metrics from all workers are merged through files in PROMETHEUS_MULTIPROC_DIR, which
# `kb serve` sets before gunicorn starts (it must be set before prometheus_client is imported).


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


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
            "query": req.query,
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": headers.get("x-request-id"),
            "correlation_id": headers.get("x-correlation-id"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        self.access_log.info(json.dumps(record))


logger_class = JsonAccessLogger

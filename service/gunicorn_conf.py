"""Gunicorn settings for `kb serve`; the command line may override bind and workers."""

import os

workers = int(os.environ.get("KB_WORKERS", min(4, (os.cpu_count() or 1) + 1)))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
# Build or repair the store once in the master, not in every worker at the same time.
preload_app = True
accesslog = "-"
errorlog = "-"
loglevel = "info"

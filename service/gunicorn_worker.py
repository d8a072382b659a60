"""Gunicorn's sync worker, answering the requests it refuses itself as problem+json.

Gunicorn refuses a request line over `limit_request_line` (414) and too many or too long
headers (431) before the app sees the request, and writes those answers as HTML of its own.
Every other error of this service is `application/problem+json` (service.errors), so clients
parse one shape; this worker writes these two in that shape too, saying what to send instead.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gunicorn import util
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.sync import SyncWorker

from service.errors import HEADERS_TOO_LARGE, URI_TOO_LONG, problem_title, problem_type

# status, reason phrase, detail
_REFUSALS: dict[type[Exception], tuple[int, str, str]] = {
    LimitRequestLine: (414, "URI Too Long", URI_TOO_LONG),
    LimitRequestHeaders: (431, "Request Header Fields Too Large", HEADERS_TOO_LARGE),
}


def refusal_body(status: int, detail: str) -> bytes:
    """The problem+json body of a refusal; it has no `instance`, the path was never read."""
    body = {
        "type": problem_type(status),
        "title": problem_title(status),
        "status": status,
        "detail": detail,
    }
    return json.dumps(body).encode()


class ProblemSyncWorker(SyncWorker):
    """A sync worker whose 414 and 431 answers are problem+json, like the app's errors."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        refusal = next((r for kind, r in _REFUSALS.items() if isinstance(exc, kind)), None)
        if refusal is None:
            super().handle_error(req, client, addr, exc)
            return
        status, reason, detail = refusal
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket has no address
        self.log.warning(f"Invalid request from ip={addr[0]}: {exc}")
        if req is not None:
            # As gunicorn's own handler does: a request it got far enough to name is logged.
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"] = addr[0]
            response = Response(req, client, self.cfg)
            response.status = f"{status} {reason}"
            self.log.access(response, req, environ, datetime.now() - started)
        body = refusal_body(status, detail)
        head = (
            f"HTTP/1.1 {status} {reason}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        ).encode("latin-1")
        try:
            util.write_nonblock(client, head + body)
        except Exception:  # noqa: BLE001 - the client may be gone; nothing left to tell it
            self.log.debug("Failed to send error message.")

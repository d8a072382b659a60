"""The body size limit for bodies sent without a Content-Length (chunked uploads).

Werkzeug checks KB_MAX_BODY_BYTES against Content-Length before a view reads anything. A
chunked body has no Content-Length: werkzeug then stops reading at the limit and hands the view
what it read as if it were the whole body, so a paste over the limit was matched cut short, with
a 200. Here such a body is read before any view runs, up to one byte past the limit: past it,
the request is refused with the same 413 as a body whose Content-Length is too large; within it,
the view reads the body from memory as usual.
"""

from __future__ import annotations

import io

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

READ_BYTES = 64 * 1024


def init_body_limit(app: Flask) -> None:
    """Refuse streamed bodies larger than the app's MAX_CONTENT_LENGTH with a 413."""

    @app.before_request
    def read_streamed_body() -> None:
        environ = request.environ
        limit = request.max_content_length
        # Servers that de-chunk a body (gunicorn, werkzeug's own) say so with this key; without
        # it there is no streamed body werkzeug would read at all.
        if limit is None or request.content_length is not None:
            return
        if not environ.get("wsgi.input_terminated"):
            return
        stream = environ["wsgi.input"]
        received = bytearray()
        while len(received) <= limit:
            chunk = stream.read(min(READ_BYTES, limit + 1 - len(received)))
            if not chunk:
                break
            received += chunk
        if len(received) > limit:
            raise RequestEntityTooLarge()
        environ["wsgi.input"] = io.BytesIO(bytes(received))

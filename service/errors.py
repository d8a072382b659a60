"""Every error as `application/problem+json` (RFC 9457), built in one place."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, g, json, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from service import limits
from service.storage.connection import StorageUnavailable

PROBLEM_TYPE_BASE = "/problems/"
log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    414: "Request line too long",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    431: "Request headers too large",
    500: "Internal server error",
    503: "Service unavailable",
}
_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "too-many-requests",
    431: "header-fields-too-large",
    500: "internal-error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error a view raises on purpose: status, what was wrong, and how to fix it."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def problem_title(status: int) -> str:
    """The short title an error body gives a status."""
    return _TITLES.get(status, "Error")


def problem_type(status: int) -> str:
    """The `type` URI reference an error body gives a status."""
    return PROBLEM_TYPE_BASE + _SLUGS.get(status, "error")


def invalid_parameters(error: ValidationError) -> ApiError:
    """The 400 for parameters a schema refused, naming each of them."""
    errors = field_errors(error.messages)
    names = ", ".join(sorted({e["field"] for e in errors}))
    return ApiError(400, f"Invalid parameter(s): {names}.", errors=errors)


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The one place an error body is made."""
    body: dict[str, Any] = {
        "type": problem_type(status),
        "title": problem_title(status),
        "status": status,
        "detail": detail,
        # percent-encoded, so a path with any characters still makes a valid URI reference
        "instance": quote(request.path, safe="/:@!$&'()*+,;=-._~"),
    }
    if errors:
        body["errors"] = errors
    response = Response(
        json.dumps(body), status=status, mimetype="application/problem+json", headers=headers
    )
    return response


def field_errors(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Marshmallow's nested messages as a flat list of {field, message}."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            out.extend(field_errors(value, name))
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, str):
                out.append({"field": prefix or "body", "message": message})
            else:
                out.extend(field_errors(message, prefix))
    else:
        out.append({"field": prefix or "body", "message": str(messages)})
    return out


BODY_TOO_LARGE = (
    "The request body is larger than the server accepts. Send a smaller part of the log."
)
# What gunicorn's worker (service.gunicorn_worker) says when it refuses a request unread.
URI_TOO_LONG = (
    f"The request line is longer than the server reads ({limits.REQUEST_LINE_BYTES} bytes, "
    "query string percent-encoded). Send a long log line as the body of POST /v1/match "
    "(text/plain), and shorten the other query parameters."
)
HEADERS_TOO_LARGE = (
    f"The request's headers are more than the server reads (at most {limits.REQUEST_HEADERS} "
    f"headers of {limits.REQUEST_HEADER_BYTES} bytes each). Send fewer or shorter headers; "
    "data belongs in the body."
)
# What a 503 for an unreachable database asks the client to wait.
STORE_RETRY_AFTER_SECONDS = 5
_HTTP_DETAILS = {
    404: "No resource at this path. The API lives under /v1; see /openapi.yaml for its routes.",
    413: BODY_TOO_LARGE,
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return problem(error.status, error.detail, errors=error.errors, headers=error.headers)

    @app.errorhandler(ValidationError)
    def handle_validation_error(error: ValidationError) -> Response:
        return handle_api_error(invalid_parameters(error))

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        headers: dict[str, str] = {}
        detail = _HTTP_DETAILS.get(status) or error.description or _TITLES.get(status, "Error")
        if status == 405:
            allowed = [m for m in getattr(error, "valid_methods", None) or []]
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
                detail = f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}."
        return problem(status, detail, headers=headers)

    @app.errorhandler(StorageUnavailable)
    def handle_storage_unavailable(error: StorageUnavailable) -> Response:
        # The database server is down or out of connections: the request may well succeed a
        # moment later (the next statement connects again), so it is a 503, not a 500.
        log.warning("store unavailable on %s %s: %s", request.method, request.path, error)
        return problem(
            503,
            "The store's database cannot be reached just now. Try again in a few seconds.",
            headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception(
            "unhandled error on %s %s (request id %s)",
            request.method,
            request.path,
            g.get("request_id", "-"),
        )
        return problem(500, "The server failed to answer this request. It has been logged.")

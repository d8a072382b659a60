"""`/v1/match`: a pasted log in, ranked known issues out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.api import MatchArgsSchema, MatchBodySchema, MatchLineArgsSchema, MatchResponseOut
from service.decoding import DecodeError, UnsupportedCharset, decode_text
from service.errors import ApiError, field_errors
from service.matching import PasteTooLarge, analyse_log
from service.observability import record_match
from service.views.common import (
    activity,
    charset_refused,
    client_id,
    kb,
    load_args,
    negotiated_response,
    renders_text,
)

bp = Blueprint("match", __name__, url_prefix="/v1")

_args = MatchArgsSchema()
_line_args = MatchLineArgsSchema()
_body = MatchBodySchema()
_out = MatchResponseOut()
# curl --data-binary sends form-urlencoded unless told otherwise: its body is still the raw log.
RAW_TYPES = ("text/", "application/x-www-form-urlencoded", "application/octet-stream")


def _read_paste() -> tuple[str, dict[str, Any]]:
    """The paste and any options sent in the body, from a text or a JSON request."""
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        try:
            raw = request.get_json(force=True, silent=False)
        except RequestEntityTooLarge:
            raise
        except Exception:
            raise ApiError(
                400,
                'The body is not valid JSON. Send {"log": "..."} or the log itself as text/plain.',
            ) from None
        if not isinstance(raw, dict):
            raise ApiError(
                400,
                'The JSON body must be an object such as {"log": "...", "limit": 5}.',
                errors=[{"field": "body", "message": "must be a JSON object"}],
            )
        try:
            body = _body.load(raw)
        except ValidationError as exc:
            errors = field_errors(exc.messages)
            names = ", ".join(sorted({e["field"] for e in errors}))
            raise ApiError(
                422, f"The JSON body is not a valid paste: {names}.", errors=errors
            ) from None
        return body.pop("log"), body
    if not mimetype or mimetype.startswith(RAW_TYPES):
        data = request.get_data(cache=False)
        try:
            text = decode_text(data, request.mimetype_params.get("charset"))
        except UnsupportedCharset as exc:
            raise charset_refused(exc) from None
        except DecodeError as exc:
            raise ApiError(
                400,
                f"The body is not readable text: {exc}. Send UTF-8 or UTF-16 with a BOM, or name "
                "the encoding, e.g. Content-Type: text/plain; charset=windows-1252.",
            ) from None
        return text, {}
    raise ApiError(
        415,
        f"Cannot read a paste sent as {mimetype}. Send the log as text/plain, or JSON "
        '{"log": "..."} as application/json.',
    )


def answer_paste(text: str, options: dict[str, Any]) -> dict[str, Any]:
    """Match a paste for this request and record it for feedback; the `/v1/match` body."""
    config = current_app.config["KB_CONFIG"]
    limit = options.get("limit") or config.default_match_limit
    try:
        analysis = analyse_log(
            kb(),
            text,
            limit=limit,
            product=options.get("product"),
            version=options.get("version"),
        )
    except PasteTooLarge as exc:
        raise ApiError(413, f"The paste is too large: {exc}.") from None
    result = {"request_id": g.request_id, **analysis.body}
    record_match(result["matches"])
    log = activity()
    if log is not None:
        log.record_match(
            g.request_id, result["matches"], analysis.evidence, analysis.unmatched, client_id()
        )
    return result


def _respond(text: str, options: dict[str, Any]) -> Response:
    return negotiated_response("match", answer_paste(text, options), _out)


@bp.post("/match")
@renders_text
def match_paste() -> Response:
    query = load_args(_args)
    text, options = _read_paste()
    # Query parameters win over the body: they are what a curl user adds last.
    options.update({k: v for k, v in query.items() if v is not None})
    if not text.strip():
        raise ApiError(
            400,
            "The paste is empty. Send the log lines in the body, e.g. "
            "curl --data-binary @Ccim32.log http://127.0.0.1:8000/v1/match",
            errors=[{"field": "log", "message": "must not be empty"}],
        )
    return _respond(text, options)


@bp.get("/match")
@renders_text
def match_line() -> Response:
    args = load_args(_line_args)
    return _respond(args.pop("line"), args)

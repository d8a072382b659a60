"""`/v1/match`: a pasted log in, ranked known issues out."""

from __future__ import annotations

import operator
from typing import Any

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from schemas.api import (
    IssueContextOut,
    MatchArgsSchema,
    MatchBodySchema,
    MatchLineArgsSchema,
    MatchResponseOut,
)
from service.decoding import DecodeError, UnsupportedCharset, decode_text
from service.errors import ApiError
from service.kb import RevisionCache
from service.links import issue_page_url
from service.matching import MatchOptions, answer_paste
from service.views.common import (
    activity,
    charset_refused,
    client_id,
    kb,
    load_args,
    negotiated_response,
    renders_text,
    validated,
)

bp = Blueprint("match", __name__, url_prefix="/v1")

_args = MatchArgsSchema()
_line_args = MatchLineArgsSchema()
_body = MatchBodySchema()
_out = MatchResponseOut()
_issue_parts = IssueContextOut()
# What a match shows of its issue alone, the bulk of an answer.
ISSUE_PARTS = tuple(_issue_parts.fields)
_issue_records = operator.itemgetter(*ISSUE_PARTS)
# issue id -> (the records the explain step gave for those parts, the same records dumped);
# bounded as the explain step's own cache is.
_dumped_parts = RevisionCache()
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
        return load_paste_body(raw)
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


def load_paste_body(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The paste and its options from a JSON object; a 422 naming the fields that are wrong."""
    body = validated(_body.load, raw, "The JSON body is not a valid paste")
    return body.pop("log"), body


def require_paste(text: str) -> None:
    """A paste of nothing but blanks is a 400 that says what to send."""
    if not text.strip():
        raise ApiError(
            400,
            "The paste is empty. Send the log lines in the body, e.g. "
            "curl --data-binary @Ccim32.log http://127.0.0.1:8000/v1/match",
            errors=[{"field": "log", "message": "must not be empty"}],
        )


def dump_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """A match answer dumped with its schema; in a full answer, each issue's causes,
    remediation and related articles dumped once and reused.

    The same issues come up request after request, and the explain step hands out the same
    records for an issue until an article behind them is written (then new ones, dumped anew):
    the parts are reused only while they are those very records.
    """
    matches = answer["matches"]
    # The page link is made here, per answer, not kept with the issue: it is absolute, and the
    # address it is built on may be the request's.
    if answer.get("detail") == "brief":
        # A brief match has none of the parts: nothing to reuse.
        return _out.dump(
            {
                **answer,
                "matches": [{**m, "page_url": issue_page_url(m["issue_id"])} for m in matches],
            }
        )
    without_parts = {part: [] for part in ISSUE_PARTS}
    shown = [{**m, **without_parts, "page_url": issue_page_url(m["issue_id"])} for m in matches]
    body = _out.dump({**answer, "matches": shown})
    for dumped, match in zip(body["matches"], matches, strict=True):
        dumped.update(_issue_parts_dumped(match))
    return body


def _issue_parts_dumped(match: dict[str, Any]) -> dict[str, Any]:
    records = _issue_records(match)
    kept = _dumped_parts.get(match["issue_id"])
    if kept is None or not all(map(operator.is_, kept[0], records)):
        kept = (records, _issue_parts.dump(dict(zip(ISSUE_PARTS, records, strict=True))))
        _dumped_parts.put(match["issue_id"], kept)
    return kept[1]


def _respond(text: str, options: dict[str, Any]) -> Response:
    # A paste too large or too costly is the app's 413 (service.create_app).
    log = activity()
    answer = answer_paste(
        kb(),
        text,
        MatchOptions(**options),
        request_id=g.request_id,
        activity=log,
        client=client_id() if log is not None else None,
    )
    return negotiated_response("match", dump_answer(answer), None)


@bp.post("/match")
@renders_text
def match_paste() -> Response:
    query = load_args(_args)
    text, options = _read_paste()
    # Query parameters win over the body: they are what a curl user adds last.
    options.update({k: v for k, v in query.items() if v is not None})
    require_paste(text)
    return _respond(text, options)


@bp.get("/match")
@renders_text
def match_line() -> Response:
    args = load_args(_line_args)
    return _respond(args.pop("line"), args)

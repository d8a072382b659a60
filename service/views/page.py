"""The paste page for helpdesk staff: a form that works without JavaScript.

The page posts to itself and is answered by the same matcher as `/v1/match`; the script in
`static/paste.js` only adds dropping a file into the box and Ctrl+Enter.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, render_template, request

from service.decoding import DecodeError, decode_text
from service.feedback import FeedbackRefused, TooManyPending, give_feedback
from service.matching import PasteTooLarge, answer_paste
from service.views.common import activity, client_id, kb

bp = Blueprint("page", __name__)
# The paste as shown beside the answer: enough for any real paste, bounded for the browser.
SHOWN_LINES = 2000


def _page(status: int = 200, **context: Any) -> Response:
    html = render_template("paste.html", **context)
    response = Response(html, status=status, mimetype="text/html")
    # The form and its answer are per request; a shared cache must not keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _read_form() -> str:
    upload = request.files.get("logfile")
    if upload is not None and upload.filename:
        try:
            return decode_text(upload.read(), None)
        except DecodeError as exc:
            raise ValueError(
                f"{upload.filename} is not readable text ({exc}); save it as UTF-8 or UTF-16."
            ) from None
    return request.form.get("log", "")


@bp.get("/")
def paste_form() -> Response:
    return _page()


@bp.post("/")
def paste_answer() -> Response:
    try:
        text = _read_form()
    except ValueError as exc:
        return _page(400, error=str(exc))
    if not text.strip():
        return _page(400, error="Paste some log lines, or choose a log file, then press Match.")
    log = activity()
    try:
        result = answer_paste(
            kb(),
            text,
            request_id=g.request_id,
            activity=log,
            client=client_id() if log is not None else None,
        )
    except PasteTooLarge as exc:
        return _page(413, error=f"The paste is too large: {exc}.", paste=text)
    marks: dict[int, list[int]] = {}
    for rank, match in enumerate(result["matches"], 1):
        for item in match["matched_lines"]:
            marks.setdefault(item["line"], []).append(rank)
    lines = text.splitlines()
    return _page(
        result=result,
        paste=text,
        lines=lines[:SHOWN_LINES],
        hidden_lines=max(0, len(lines) - SHOWN_LINES),
        marks=marks,
    )


@bp.post("/feedback")
def feedback_form() -> Response:
    """The page's "did this fix it?" buttons: the same verdict as `POST /v1/feedback`."""
    request_id = request.form.get("request_id", "")
    issue_id = request.form.get("issue_id", "")
    helpful = request.form.get("helpful")
    if not request_id or not issue_id or helpful not in ("yes", "no"):
        return _page(400, error="That answer could not be recorded: the form was incomplete.")
    try:
        give_feedback(
            kb(),
            activity(),
            issue_id=issue_id,
            helpful=helpful == "yes",
            request_id=request_id,
            client=client_id(),
        )
    except FeedbackRefused as exc:
        return _page(404, error=str(exc))
    except TooManyPending as exc:
        return _page(429, error=str(exc))
    verdict = "the answer" if helpful == "yes" else "not the answer"
    thanks = (
        f"Thank you: {issue_id} is recorded as {verdict}. Once the knowledge base's maintainers "
        "review it, later answers will take it into account."
    )
    return _page(thanks=thanks)

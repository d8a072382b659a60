"""The paste page for helpdesk staff: a form that works without JavaScript.

The page posts to itself and is answered by the same matcher, and shows the same body, as
`/v1/match`. Its feedback buttons post the paste along with the verdict, so that without
JavaScript the answer comes back with the verdict recorded. The script in `static/paste.js`
adds what needs the browser: dropping a file into the box, Ctrl+Enter, copying the answer as
brief Markdown for a ticket, and sending feedback or a search without leaving the answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from marshmallow import ValidationError

from schemas.api import SearchArgsSchema, SearchResponseOut
from service import limits
from service.decoding import DecodeError, decode_text
from service.feedback import FeedbackRefused, TooManyPending, give_feedback
from service.matching import MatchOptions, PasteTooLarge, answer_paste, match_log
from service.matching.explain import BRIEF_MATCHES
from service.normalize import CMTRACE_END, CMTRACE_START, physical_lines
from service.render import MARKDOWN
from service.search import search_articles
from service.views.common import activity, client_id, kb, text_response
from service.views.match import dump_answer

bp = Blueprint("page", __name__)
# The paste as shown beside the answer: enough for any real paste, bounded for the browser.
SHOWN_LINES = 2000
# What "Try an example" matches: a short Ccim32.log of an SMS 2.0 client, from the lines the
# seed article quotes and a few routine ones that match nothing.
EXAMPLE_LOG = (Path(__file__).resolve().parent.parent / "static" / "example.log").read_text(
    encoding="utf-8"
)
_search_args = SearchArgsSchema()
_search_out = SearchResponseOut()


def _page(status: int = 200, **context: Any) -> Response:
    html = render_template("paste.html", max_query_chars=limits.MAX_QUERY_CHARS, **context)
    response = Response(html, status=status, mimetype="text/html")
    # The form and its answer are per request; a shared cache must not keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _read_form() -> str:
    if request.form.get("example"):
        return EXAMPLE_LOG
    upload = request.files.get("logfile")
    if upload is not None and upload.filename:
        try:
            return decode_text(upload.read(), None)
        except DecodeError as exc:
            raise ValueError(
                f"{upload.filename} is not readable text ({exc}); save it as UTF-8 or UTF-16."
            ) from None
    return request.form.get("log", "")


def marked_lines(lines: list[str], matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each line of the paste with what it matched, for showing beside the answer.

    `state` is `hit` for a line that is evidence for one of `matches` (`ranks` then says which,
    1 for the first), `miss` for a line with text that is evidence for none of them, and empty
    for a blank line. A CMTrace record spread over several lines is numbered by its first line:
    the lines that continue a matched record are hits with it.
    """
    ranks: dict[int, list[int]] = {}
    for rank, match in enumerate(matches, 1):
        for item in match["matched_lines"]:
            seen = ranks.setdefault(item["line"], [])
            if rank not in seen:
                seen.append(rank)
    shown = []
    record: list[int] | None = None  # the ranks of the multi-line record being read
    for number, text in enumerate(lines, 1):
        if record is not None:
            own = record
            if CMTRACE_END in text:
                record = None
        else:
            own = ranks.get(number, [])
            if CMTRACE_START in text and CMTRACE_END not in text:
                record = own
        state = "hit" if own else "miss" if text.strip() else ""
        shown.append({"number": number, "text": text, "state": state, "ranks": own})
    return shown


def _answer_page(text: str, answer: dict[str, Any], status: int = 200, **context: Any) -> Response:
    """The page showing `answer` to the paste `text`: the same body as `/v1/match` gives, its
    brief Markdown for copying into a ticket, and the paste with its lines marked.

    `answer` is a full answer holding its matches in brief too (MatchOptions.brief_too)."""
    brief = {**answer, "detail": "brief", "matches": answer.pop(BRIEF_MATCHES)}
    body = dump_answer(answer)
    # What `detail=brief` with `Accept: text/markdown` answers: how sure and why, the strongest
    # lines, the fixes by title and the issue's page, which a ticket needs and can hold.
    markdown = text_response("match", dump_answer(brief), MARKDOWN).get_data(as_text=True)
    lines = physical_lines(text)
    return _page(
        status,
        result=body,
        markdown=markdown,
        paste=text,
        lines=marked_lines(lines[:SHOWN_LINES], body["matches"]),
        hidden_lines=max(0, len(lines) - SHOWN_LINES),
        **context,
    )


@bp.get("/")
def paste_form() -> Response:
    """The empty form; with `q`, the articles found for those words shown below it."""
    query = request.args.get("q")
    if query is None:
        return _page()
    try:
        args = _search_args.load({"q": query})
    except ValidationError:
        return _page(
            400,
            query=query,
            error=f"Describe the problem in 1 to {limits.MAX_QUERY_CHARS} characters.",
        )
    found = search_articles(kb(), args["q"], limit=args["limit"], product=args["product"])
    return _page(query=query, search=_search_out.dump(found))


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
            MatchOptions(brief_too=True),
            request_id=g.request_id,
            activity=log,
            client=client_id() if log is not None else None,
        )
    except PasteTooLarge as exc:
        return _page(413, error=f"The paste is too large: {exc}.", paste=text)
    return _answer_page(text, result)


@bp.post("/feedback")
def feedback_form() -> Response:
    """The page's "did this fix it?" buttons: the same verdict as `POST /v1/feedback`.

    The buttons submit the paste form, so the paste comes along: the page answers it again,
    under the request id the verdict names, and the answer stays on screen with the verdict
    (or what kept it from being recorded) beside it.
    """
    request_id = request.form.get("request_id", "")
    # Each button names its issue in the address it posts to; the verdict is the button's value.
    issue_id = request.values.get("issue_id", "")
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
        return _answered_again(404, request_id, error=str(exc))
    except TooManyPending as exc:
        return _answered_again(429, request_id, error=str(exc))
    verdict = "the answer" if helpful == "yes" else "not the answer"
    thanks = (
        f"Thank you: {issue_id} is recorded as {verdict}. Once the knowledge base's maintainers "
        "review it, later answers will take it into account."
    )
    return _answered_again(200, request_id, thanks=thanks, thanked=issue_id)


def _answered_again(status: int, request_id: str, **context: Any) -> Response:
    """The page after a verdict: the answer to the paste that came with it, when one did.

    The paste is matched again without being recorded (it was, when first answered), and the
    answer keeps the request id the verdict named, so the other buttons name the same match.
    """
    text = request.form.get("log", "")
    if not text.strip():
        return _page(status, **context)
    try:
        body = match_log(kb(), text, limit=kb().config.default_match_limit, brief_too=True)
    except PasteTooLarge:
        return _page(status, **context)
    return _answer_page(text, {"request_id": request_id, **body}, status, **context)

"""Feedback on matches, what was learned from it, and the numbers a KB author works from."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from schemas.api import (
    FeedbackBodySchema,
    FeedbackOut,
    PendingArgsSchema,
    PendingFeedbackOut,
    StatsArgsSchema,
    StatsOut,
)
from service import learning, limits, links
from service.auth import carries_token, require_writer
from service.errors import ApiError
from service.feedback import (
    PENDING_RETRY_SECONDS,
    FeedbackRefused,
    TooManyPending,
    forget_learned,
    give_feedback,
    review,
)
from service.views.common import (
    activity,
    client_id,
    json_response,
    kb,
    load_args,
    no_content,
    page_response,
    validated,
)

bp = Blueprint("feedback", __name__, url_prefix="/v1")

_body = FeedbackBodySchema()
_stats_args = StatsArgsSchema()
_pending_args = PendingArgsSchema()
_feedback_out = FeedbackOut()
_pending_out = PendingFeedbackOut()
_stats_out = StatsOut()


@bp.post("/feedback")
def post_feedback() -> Response:
    """Record whether a match helped; once approved, a confirmation teaches, a doubt lowers."""
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            'Send feedback as application/json: {"request_id": "...", "issue_id": "264630-1", '
            '"helpful": true}.',
        )
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ApiError(400, "The body must be a JSON object with issue_id, helpful and request_id.")
    body = validated(_body.load, raw, "The feedback is not valid")
    try:
        outcome = give_feedback(kb(), activity(), **body, client=client_id())
    except FeedbackRefused as exc:
        raise ApiError(404, str(exc), errors=[{"field": exc.field, "message": str(exc)}]) from None
    except TooManyPending as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(PENDING_RETRY_SECONDS)}) from None
    return json_response(feedback_body(outcome), _feedback_out, status=201)


def feedback_body(outcome: learning.FeedbackOutcome) -> dict:
    """A verdict as the API answers it (and the MCP server's send_feedback): the verdict as
    recorded, what it taught or lowered, and the issue's link."""
    return {
        "feedback": outcome.feedback,
        "learned_symptoms": [links.learned_links(r) for r in outcome.learned],
        "penalised_lines": outcome.penalised_lines,
        "links": {"issue": links.issue_url(outcome.feedback["issue_id"])},
    }


@bp.get("/feedback/pending")
def pending() -> Response:
    """Verdicts waiting for review, oldest first (token holders only: they quote pastes)."""
    require_writer(current_app.config["KB_CONFIG"].api_tokens)
    args = load_args(_pending_args)
    items = learning.pending_feedback(kb().store, args["limit"] + 1, after=args["cursor"])
    more = len(items) > args["limit"]
    items = items[: args["limit"]]
    for item in items:
        item["links"] = _review_links(item["id"], item["issue_id"])
    next_cursor = str(items[-1]["id"]) if more else None
    return page_response(items, next_cursor, _pending_out, args["limit"])


def _review_links(feedback_id: int, issue_id: str) -> dict[str, str]:
    return {
        "approve": f"/v1/feedback/{feedback_id}/approve",
        "reject": f"/v1/feedback/{feedback_id}/reject",
        "issue": links.issue_url(issue_id),
    }


@bp.post(f"/feedback/<int(max={limits.MAX_RECORD_NUMBER}):feedback_id>/approve")
def approve(feedback_id: int) -> Response:
    """Apply a pending verdict: learn its lines, or lower the issue for them."""
    return _review(feedback_id, approve=True)


@bp.post(f"/feedback/<int(max={limits.MAX_RECORD_NUMBER}):feedback_id>/reject")
def reject(feedback_id: int) -> Response:
    """Close a pending verdict without applying it."""
    return _review(feedback_id, approve=False)


def _review(feedback_id: int, approve: bool) -> Response:
    require_writer(current_app.config["KB_CONFIG"].api_tokens)
    try:
        outcome = review(kb(), feedback_id, approve)
    except learning.AlreadyReviewed as exc:
        raise ApiError(
            409,
            f"Feedback {feedback_id} was {exc.status} already; a verdict is reviewed once. "
            "See the verdicts still waiting at /v1/feedback/pending.",
        ) from None
    except FeedbackRefused as exc:
        raise ApiError(409, str(exc), errors=[{"field": exc.field, "message": str(exc)}]) from None
    if outcome is None:
        raise ApiError(
            404,
            f"No feedback has the id {feedback_id}. See the verdicts waiting at "
            "/v1/feedback/pending.",
        )
    return json_response(feedback_body(outcome), _feedback_out)


@bp.delete("/issues/<issue_id>/learned/<learned_id>")
def delete_learned(issue_id: str, learned_id: str) -> Response:
    """Forget a learned symptom (authorised callers only); curated records are not touched."""
    require_writer(current_app.config["KB_CONFIG"].api_tokens)
    if not forget_learned(kb(), issue_id, learned_id):
        raise ApiError(
            404,
            f"Issue {issue_id!r} has no learned symptom {learned_id!r}. "
            f"See the issue's learned_symptoms at {links.issue_url(issue_id)}.",
        )
    return no_content()


@bp.get("/stats")
def stats() -> Response:
    """Most matched issues, feedback counts and, for token holders, the lines of pastes that
    matched nothing."""
    limit = load_args(_stats_args)["limit"]
    log = activity()
    top = log.top_issues(limit) if log is not None else []
    store = kb().store
    for item in top:
        issue = store.get_issue(item["issue_id"])
        item["title"] = issue["title"] if issue else None
        item["links"] = {"issue": links.issue_url(item["issue_id"])} if issue else {}
    totals = log.totals() if log is not None else {"pastes": 0, "pastes_unmatched": 0}
    body = {**totals, "top_issues": top, "feedback": learning.feedback_counts(store)}
    config = current_app.config["KB_CONFIG"]
    # Content gaps quote what people pasted: token holders only, and only lines that several
    # distinct clients pasted, so no one's single paste is ever shown.
    if carries_token(config.api_tokens):
        body["content_gaps"] = (
            log.content_gaps(limit, config.gap_min_clients) if log is not None else []
        )
    return json_response(body, _stats_out)

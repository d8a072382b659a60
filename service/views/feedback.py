"""Feedback on matches, what was learned from it, and the numbers a KB author works from."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from marshmallow import ValidationError

from schemas.api import FeedbackBodySchema, FeedbackOut, StatsArgsSchema, StatsOut
from service import learning, links
from service.auth import require_writer
from service.errors import ApiError, field_errors
from service.feedback import FeedbackRefused, forget_learned, give_feedback
from service.views.common import activity, json_response, kb, load_args, no_content

bp = Blueprint("feedback", __name__, url_prefix="/v1")

_body = FeedbackBodySchema()
_stats_args = StatsArgsSchema()


@bp.post("/feedback")
def post_feedback() -> Response:
    """Record whether a match helped; a confirmation teaches, a rejection lowers."""
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            'Send feedback as application/json: {"request_id": "...", "issue_id": "264630-1", '
            '"helpful": true}.',
        )
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ApiError(400, "The body must be a JSON object with issue_id, helpful and request_id.")
    try:
        body = _body.load(raw)
    except ValidationError as exc:
        errors = field_errors(exc.messages)
        names = ", ".join(sorted({e["field"] for e in errors}))
        raise ApiError(422, f"The feedback is not valid: {names}.", errors=errors) from None
    try:
        outcome = give_feedback(kb(), activity(), **body)
    except FeedbackRefused as exc:
        raise ApiError(404, str(exc), errors=[{"field": exc.field, "message": str(exc)}]) from None
    result = {
        "feedback": outcome.feedback,
        "learned_symptoms": [links.learned_links(r) for r in outcome.learned],
        "penalised_lines": outcome.penalised_lines,
        "links": {"issue": links.issue_url(body["issue_id"])},
    }
    return json_response(result, FeedbackOut(), status=201)


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
    """Most matched issues, feedback counts, and the lines of pastes that matched nothing."""
    limit = load_args(_stats_args)["limit"]
    log = activity()
    top = log.top_issues(limit) if log is not None else []
    store = kb().store
    for item in top:
        issue = store.get_issue(item["issue_id"])
        item["title"] = issue["title"] if issue else None
        item["links"] = {"issue": links.issue_url(item["issue_id"])} if issue else {}
    totals = log.totals() if log is not None else {"pastes": 0, "pastes_unmatched": 0}
    body = {
        **totals,
        "top_issues": top,
        "feedback": learning.feedback_counts(store),
        "content_gaps": log.content_gaps(limit) if log is not None else [],
    }
    return json_response(body, StatsOut())

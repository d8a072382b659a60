"""Articles and their linked records: issues, symptoms, causes, workarounds."""

from __future__ import annotations

from flask import Blueprint, Response

from schemas.api import (
    ArticleOut,
    ArticleSummaryOut,
    CauseOut,
    IssueOut,
    ListArgsSchema,
    SymptomOut,
    WorkaroundOut,
)
from service import links
from service.store import ArticleNotFound
from service.views.common import json_response, kb, load_args, not_found, page_response

bp = Blueprint("articles", __name__, url_prefix="/v1")

_list_args = ListArgsSchema()
_LINKERS = {
    "articles": (links.article_links, ArticleSummaryOut()),
    "issues": (links.issue_links, IssueOut()),
    "symptoms": (links.symptom_links, SymptomOut()),
    "causes": (links.cause_links, CauseOut()),
    "workarounds": (links.workaround_links, WorkaroundOut()),
}


def _list(table: str) -> Response:
    args = load_args(_list_args)
    records, next_cursor = kb().store.list_records(
        table,
        limit=args["limit"],
        after=args["cursor"],
        product=args["product"],
        version=args["version"],
        keyword=args["keyword"],
        article_id=args["article_id"],
    )
    linker, schema = _LINKERS[table]
    if table == "causes":
        updates = [r["missing_update"] for r in records if r.get("missing_update")]
        present = kb().store.existing_article_ids(updates)
        records = [links.cause_links(r, present) for r in records]
    else:
        records = [linker(r) for r in records]
    return page_response(records, next_cursor, schema, args["limit"])


@bp.get("/articles")
def list_articles() -> Response:
    return _list("articles")


@bp.get("/articles/<article_ref>")
def get_article(article_ref: str) -> Response:
    store = kb().store
    try:
        article_id = store.resolve_article_id(article_ref)
    except ArticleNotFound:
        raise not_found("article", article_ref) from None
    article = store.get_article(article_id)
    if article is None:
        raise not_found("article", article_ref)
    return json_response(links.full_article_links(article), ArticleOut())


@bp.get("/issues")
def list_issues() -> Response:
    return _list("issues")


@bp.get("/issues/<issue_id>")
def get_issue(issue_id: str) -> Response:
    issue = kb().store.get_issue(issue_id)
    if issue is None:
        raise not_found("issue", issue_id)
    return json_response(links.issue_links(issue), IssueOut())


@bp.get("/symptoms")
def list_symptoms() -> Response:
    return _list("symptoms")


@bp.get("/symptoms/<symptom_id>")
def get_symptom(symptom_id: str) -> Response:
    symptom = kb().store.get_symptom(symptom_id)
    if symptom is None:
        raise not_found("symptom", symptom_id)
    return json_response(links.symptom_links(symptom), SymptomOut())


@bp.get("/causes")
def list_causes() -> Response:
    return _list("causes")


@bp.get("/causes/<cause_id>")
def get_cause(cause_id: str) -> Response:
    store = kb().store
    cause = store.get_cause(cause_id)
    if cause is None:
        raise not_found("cause", cause_id)
    update = cause.get("missing_update")
    present = store.existing_article_ids([update]) if update else set()
    return json_response(links.cause_links(cause, present), CauseOut())


@bp.get("/workarounds")
def list_workarounds() -> Response:
    return _list("workarounds")


@bp.get("/workarounds/<workaround_id>")
def get_workaround(workaround_id: str) -> Response:
    workaround = kb().store.get_workaround(workaround_id)
    if workaround is None:
        raise not_found("workaround", workaround_id)
    return json_response(links.workaround_links(workaround), WorkaroundOut())

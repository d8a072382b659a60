"""Articles and issues as pages for people: `/articles/{id}` and `/issues/{id}`.

Each page shows the record its `/v1/` twin returns, dumped by the same schema: what goes wrong,
what it applies to, the symptoms, the causes and the remediation steps in order with their
warnings, and links between an article, its issues and related articles. The pages are plain
HTML with their own style sheet (a print one included): no script, nothing from elsewhere.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from schemas.api import ArticleOut, IssueOut, ProductOut, RelatedOut
from service import links
from service.errors import ApiError
from service.records import article_issues, article_record, issue_page_record
from service.views.common import kb

bp = Blueprint("record_pages", __name__)

_article_out = ArticleOut()
_issue_out = IssueOut()
_related_out = RelatedOut(many=True)
_products_out = ProductOut(many=True)
# What an unknown id is answered with: a page for a browser, a problem for anything else.
_NOT_FOUND_MEDIA = ("application/problem+json", "text/html")


@bp.context_processor
def page_links() -> dict[str, Any]:
    """The link builders the templates use, so every link on a page is made in one place."""
    return {
        "absolute": links.absolute,
        "article_page_url": links.article_page_url,
        "issue_page_url": links.issue_page_url,
    }


def _html(template: str, status: int = 200, **context: Any) -> Response:
    return Response(render_template(template, **context), status=status, mimetype="text/html")


def _missing(kind: str, record_id: str) -> Response:
    """The 404 for an id nothing has: a page when the client prefers HTML, else a problem."""
    detail = f"No {kind} has the id {record_id!r}."
    if request.accept_mimetypes.best_match(_NOT_FOUND_MEDIA) == "text/html":
        response = _html("not_found.html", 404, kind=kind, detail=detail)
        response.headers["Vary"] = "Accept"
        return response
    raise ApiError(404, detail, headers={"Vary": "Accept"})


@bp.get("/articles/<article_ref:article_ref>")
def article_page(article_ref: str) -> Response:
    """A whole article: its issues, each with symptoms, causes and remediation, and related."""
    article = article_record(kb().store, article_ref)
    if article is None:
        return _missing("article", article_ref)
    body = _article_out.dump(article)
    return _html("article.html", article=body, issues=article_issues(body))


@bp.get("/issues/<issue_id>")
def issue_page(issue_id: str) -> Response:
    """One issue: symptoms, causes, remediation, and its article's products and related."""
    record = issue_page_record(kb().store, issue_id)
    if record is None:
        return _missing("issue", issue_id)
    return _html(
        "issue.html",
        issue=_issue_out.dump(record["issue"]),
        applies_to=_products_out.dump(record["applies_to"]),
        other_issues=record["other_issues"],
        related=_related_out.dump(record["related"]),
    )

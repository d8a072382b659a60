"""Articles and their linked records: issues, symptoms, causes, workarounds."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from schemas.api import (
    ArticleOut,
    ArticleSummaryOut,
    CauseOut,
    IssueArgsSchema,
    IssueOut,
    ListArgsSchema,
    SymptomOut,
    WorkaroundOut,
)
from schemas.records import load_article_document
from service import links
from service.auth import require_writer
from service.decoding import ARCHIVE_CHARSET, DecodeError, UnsupportedCharset, decode_text
from service.errors import ApiError
from service.importer import ImportProblem, parse_article
from service.products import stored_names
from service.records import article_record, issue_record, linked_records
from service.storage import ArticleNotFound
from service.views.common import (
    charset_refused,
    json_response,
    kb,
    load_args,
    negotiated_response,
    no_content,
    not_found,
    page_response,
    renders_text,
    validated,
)

bp = Blueprint("articles", __name__, url_prefix="/v1")

# Made once: a schema's instance copies every declared field, its nested schemas' too, which
# cost a record read more than reading the record.
_list_args = ListArgsSchema()
_issue_args = IssueArgsSchema()
_article_out = ArticleOut()
_issue_out = IssueOut()
_symptom_out = SymptomOut()
_cause_out = CauseOut()
_workaround_out = WorkaroundOut()
_LINKERS = {
    "articles": (links.article_links, ArticleSummaryOut()),
    "issues": (links.issue_links, _issue_out),
    "symptoms": (links.symptom_links, _symptom_out),
    "causes": (links.cause_links, _cause_out),
    "workarounds": (links.workaround_links, _workaround_out),
}


def _list(table: str) -> Response:
    args = load_args(_list_args)
    products, versions = stored_names(kb(), args["product"], args["version"])
    records, next_cursor = kb().store.list_records(
        table,
        limit=args["limit"],
        after=args["cursor"],
        products=products,
        versions=versions,
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


@bp.get("/articles/<article_ref:article_ref>")
@renders_text
def get_article(article_ref: str) -> Response:
    article = article_record(kb().store, article_ref)
    if article is None:
        raise not_found("article", article_ref)
    return negotiated_response("article", article, _article_out)


@bp.get("/issues")
def list_issues() -> Response:
    return _list("issues")


@bp.get("/issues/<issue_id>")
@renders_text
def get_issue(issue_id: str) -> Response:
    expand = load_args(_issue_args)["expand"]
    store = kb().store
    issue = issue_record(store, issue_id, expand)
    if issue is None:
        raise not_found("issue", issue_id)

    def with_records(body: dict) -> dict:
        # People reading an issue want its causes and steps, not their ids.
        return {**body, **linked_records(store, issue_id)}

    return negotiated_response("issue", issue, _issue_out, prepare=with_records)


@bp.get("/symptoms")
def list_symptoms() -> Response:
    return _list("symptoms")


@bp.get("/symptoms/<symptom_id>")
def get_symptom(symptom_id: str) -> Response:
    symptom = kb().store.get_symptom(symptom_id)
    if symptom is None:
        raise not_found("symptom", symptom_id)
    return json_response(links.symptom_links(symptom), _symptom_out)


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
    return json_response(links.cause_links(cause, present), _cause_out)


@bp.get("/workarounds")
def list_workarounds() -> Response:
    return _list("workarounds")


@bp.get("/workarounds/<workaround_id>")
def get_workaround(workaround_id: str) -> Response:
    workaround = kb().store.get_workaround(workaround_id)
    if workaround is None:
        raise not_found("workaround", workaround_id)
    return json_response(links.workaround_links(workaround), _workaround_out)


# -- writes ---------------------------------------------------------------------------------


def _authorise() -> None:
    require_writer(current_app.config["KB_CONFIG"].api_tokens)


def _refuse_curated(article_id: str) -> None:
    if kb().store.article_source(article_id) == "curated":
        raise ApiError(
            409,
            f"Article {article_id} is curated in kb_data/{article_id}.yaml; change it there and "
            "run `kb build`, so the file and the store do not disagree.",
        )


def _written(article_id: str, outcome: str) -> Response:
    article = kb().store.get_article(article_id)
    response = json_response(
        links.full_article_links(article), _article_out, status=201 if outcome == "created" else 200
    )
    response.headers["Location"] = links.article_url(article_id)
    return response


@bp.put("/articles/<article_ref:article_ref>")
def put_article(article_ref: str) -> Response:
    """Create or replace an article from its structured form (the kb_data shape, as JSON)."""
    _authorise()
    article_id = article_ref
    if not article_id.isdigit():
        # An alias names an article that exists; a write names the article it writes by the
        # number its records' ids start with.
        raise ApiError(
            400,
            f"PUT names the article by its KB number (digits, e.g. 900100), not by an alias "
            f"({article_ref!r}).",
            errors=[{"field": "article_ref", "message": "must be digits, e.g. 900100"}],
        )
    if request.mimetype != "application/json":
        raise ApiError(415, "Send the article as application/json, in the kb_data record shape.")
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise ApiError(400, "The body must be a JSON object: an article in the kb_data shape.")
    raw.setdefault("id", article_id)
    if raw["id"] != article_id:
        raise ApiError(
            422,
            f"The body's id {raw['id']!r} differs from the path's {article_id!r}.",
            errors=[{"field": "id", "message": "must equal the article id in the path"}],
        )
    document = validated(load_article_document, raw, "The article is not valid")
    _refuse_curated(article_id)
    outcome = kb().save_article(document, source="api")
    return _written(article_id, outcome)


@bp.post("/articles/import")
def import_article() -> Response:
    """Create or replace an article from raw KB text, in either format the importer reads."""
    _authorise()
    mimetype = request.mimetype or ""
    if mimetype and not mimetype.startswith(("text/", "application/octet-stream")):
        raise ApiError(415, "Send the article text as text/plain (either KB text format).")
    try:
        text = decode_text(
            request.get_data(cache=False),
            request.mimetype_params.get("charset"),
            fallback=ARCHIVE_CHARSET,
        )
    except UnsupportedCharset as exc:
        raise charset_refused(exc) from None
    except DecodeError as exc:
        raise ApiError(400, f"The body is not readable text: {exc}.") from None
    try:
        document = parse_article(text, "request body")
    except ImportProblem as exc:
        raise ApiError(
            422,
            f"The text could not be read as a KB article: {exc}.",
            errors=[{"field": "body", "message": str(exc)}],
        ) from None
    _refuse_curated(document["id"])
    outcome = kb().save_article(document, source="api")
    return _written(document["id"], outcome)


@bp.delete("/articles/<article_ref:article_ref>")
def delete_article(article_ref: str) -> Response:
    _authorise()
    try:
        article_id = kb().store.resolve_article_id(article_ref)
    except ArticleNotFound:
        raise not_found("article", article_ref) from None
    _refuse_curated(article_id)
    kb().delete_article(article_id)
    return no_content()

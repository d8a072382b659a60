"""Links between records, so a client can walk the graph from any record it holds, and links
to the pages people read them on.

The `links` of a record lead to other JSON records; they are paths, the same whoever asks, so
records with them can be kept and shared between requests. Links meant to be followed from
outside the service (a record's `page_url`, the links of a Markdown or plain-text answer) are
absolute: built on `KB_PUBLIC_URL` when it is set, else on the request's own address (as a
trusted proxy forwarded it, with `KB_TRUST_PROXY`). They are made for each answer, never kept.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context, has_request_context, request

API = "/v1"


# -- pages for people ---------------------------------------------------------------------------


def article_page(article_id: str) -> str:
    """The path of an article's page."""
    return f"/articles/{article_id}"


def issue_page(issue_id: str) -> str:
    """The path of an issue's page."""
    return f"/issues/{issue_id}"


def public_base(public_url: str | None = None) -> str:
    """The address the service is reached at, without a trailing slash.

    `public_url` when given; else the app's `KB_PUBLIC_URL`; else the current request's root
    (scheme, host and any path prefix); else "", outside a request with no public URL, where
    links stay paths.
    """
    if public_url is None and has_app_context():
        public_url = current_app.config["KB_CONFIG"].public_url
    if public_url:
        return public_url.rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    return ""


def absolute(path: str, public_url: str | None = None) -> str:
    """`path` (from the service's root) as a URL people can follow: see `public_base`."""
    return public_base(public_url) + path


def article_page_url(article_id: str, public_url: str | None = None) -> str:
    """The absolute URL of an article's page."""
    return absolute(article_page(article_id), public_url)


def issue_page_url(issue_id: str, public_url: str | None = None) -> str:
    """The absolute URL of an issue's page."""
    return absolute(issue_page(issue_id), public_url)


# -- the API's records --------------------------------------------------------------------------


def article_url(article_id: str) -> str:
    return f"{API}/articles/{article_id}"


def issue_url(issue_id: str) -> str:
    return f"{API}/issues/{issue_id}"


def symptom_url(symptom_id: str) -> str:
    return f"{API}/symptoms/{symptom_id}"


def cause_url(cause_id: str) -> str:
    return f"{API}/causes/{cause_id}"


def workaround_url(workaround_id: str) -> str:
    return f"{API}/workarounds/{workaround_id}"


def related_links(related: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in related:
        item["links"] = {"article": article_url(item["article_id"])} if item["in_store"] else {}
    return related


def symptom_links(symptom: dict[str, Any]) -> dict[str, Any]:
    symptom["links"] = {
        "self": symptom_url(symptom["id"]),
        "issue": issue_url(symptom["issue_id"]),
        "article": article_url(symptom["article_id"]),
    }
    return symptom


def cause_links(cause: dict[str, Any], present: set[str] | None = None) -> dict[str, Any]:
    links: dict[str, Any] = {
        "self": cause_url(cause["id"]),
        "article": article_url(cause["article_id"]),
        "issues": [issue_url(i) for i in cause["issue_ids"]],
    }
    update = cause.get("missing_update")
    if update and (present is None or update in present):
        links["missing_update"] = article_url(update)
    cause["links"] = links
    return cause


def workaround_links(workaround: dict[str, Any]) -> dict[str, Any]:
    workaround["links"] = {
        "self": workaround_url(workaround["id"]),
        "article": article_url(workaround["article_id"]),
        "issues": [issue_url(i) for i in workaround["issue_ids"]],
    }
    return workaround


def issue_links(issue: dict[str, Any]) -> dict[str, Any]:
    issue["page_url"] = issue_page_url(issue["id"])
    issue["links"] = {
        "self": issue_url(issue["id"]),
        "article": article_url(issue["article_id"]),
        "symptoms": [symptom_url(i) for i in issue.get("symptom_ids", [])],
        "causes": [cause_url(i) for i in issue.get("cause_ids", [])],
        "workarounds": [workaround_url(i) for i in issue.get("workaround_ids", [])],
    }
    return issue


def learned_url(issue_id: str, learned_id: str) -> str:
    return f"{issue_url(issue_id)}/learned/{learned_id}"


def learned_links(learned: dict[str, Any]) -> dict[str, Any]:
    learned["links"] = {
        "self": learned_url(learned["issue_id"], learned["id"]),
        "issue": issue_url(learned["issue_id"]),
    }
    return learned


def article_links(article: dict[str, Any]) -> dict[str, Any]:
    issue_ids = article.get("issue_ids") or [i["id"] for i in article.get("issues", [])]
    links: dict[str, Any] = {
        "self": article_url(article["id"]),
        "issues": [issue_url(i) for i in issue_ids],
    }
    if "related" in article:
        links["related"] = [
            article_url(r["article_id"]) for r in article["related"] if r.get("in_store")
        ]
    if "referenced_by" in article:
        links["referenced_by"] = [article_url(i) for i in article["referenced_by"]]
    article["links"] = links
    article["page_url"] = article_page_url(article["id"])
    return article


def full_article_links(article: dict[str, Any]) -> dict[str, Any]:
    """Links on an article and on every record nested in it."""
    article["issue_ids"] = [i["id"] for i in article["issues"]]
    related_links(article["related"])
    present = {r["article_id"] for r in article["related"] if r["in_store"]}
    for issue in article["issues"]:
        issue_links(issue)
    for symptom in article["symptoms"]:
        symptom_links(symptom)
    for cause in article["causes"]:
        cause_links(cause, present)
    for workaround in article["workarounds"]:
        workaround_links(workaround)
    return article_links(article)

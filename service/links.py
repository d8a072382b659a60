"""Links between records, so a client can walk the graph from any record it holds."""

from __future__ import annotations

from typing import Any

API = "/v1"


def article_url(article_id: str) -> str:
    return f"{API}/articles/{article_id}"


def issue_url(issue_id: str) -> str:
    return f"{API}/issues/{issue_id}"


def issue_page_url(issue_id: str) -> str:
    """The issue's page for people (HTML), where a match sends someone to read the fix."""
    return f"/issues/{issue_id}"


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

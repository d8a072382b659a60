"""An article or an issue as the API shows it: the stored record with its links, plain data.

The API's views and the MCP server's tools both answer with these, each dumping them with the
schemas of `schemas.api`.
"""

from __future__ import annotations

from typing import Any

from service import learning, links
from service.storage import ArticleNotFound, Store


def article_record(store: Store, article_ref: str) -> dict[str, Any] | None:
    """The article `article_ref` names (its number, or Q/KB and the number) in full, with links;
    None when no article has that id."""
    try:
        article_id = store.resolve_article_id(article_ref)
    except ArticleNotFound:
        return None
    article = store.get_article(article_id)
    return None if article is None else links.full_article_links(article)


def issue_record(store: Store, issue_id: str, expand: str = "") -> dict[str, Any] | None:
    """One issue with its learned symptoms and links; the linked records named in `expand`
    ("symptoms", "causes", "workarounds", comma-separated) in full. None when there is none."""
    issue = store.get_issue(issue_id)
    if issue is None:
        return None
    issue["learned_symptoms"] = [
        links.learned_links(r) for r in learning.learned_symptoms(store, issue_id)
    ]
    if expand:
        issue.update({k: v for k, v in linked_records(store, issue_id).items() if k in expand})
    return links.issue_links(issue)


def linked_records(store: Store, issue_id: str) -> dict[str, Any]:
    """An issue's symptoms, causes and workarounds in full, each with its links."""
    details = store.issue_details(issue_id) or {}
    updates = [c["missing_update"] for c in details.get("causes", []) if c.get("missing_update")]
    present = store.existing_article_ids(updates)
    return {
        "symptoms": [links.symptom_links(s) for s in details.get("symptoms", [])],
        "causes": [links.cause_links(c, present) for c in details.get("causes", [])],
        "workarounds": [links.workaround_links(w) for w in details.get("workarounds", [])],
    }


def article_issues(article: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole article's issues, each with its own symptoms, causes and workarounds attached
    (the article lists them apart, each naming its issues), in the article's order."""
    issues = []
    for issue in article.get("issues", []):
        issue_id = issue["id"]
        issues.append(
            {
                **issue,
                "symptoms": [s for s in article.get("symptoms", []) if s["issue_id"] == issue_id],
                "causes": [c for c in article.get("causes", []) if issue_id in c["issue_ids"]],
                "workarounds": [
                    w for w in article.get("workarounds", []) if issue_id in w["issue_ids"]
                ],
            }
        )
    return issues


def issue_page_record(store: Store, issue_id: str) -> dict[str, Any] | None:
    """What an issue's page shows: the issue with its symptoms, causes and workarounds in full,
    and of its article the products it applies to, its other issues and the articles it names
    as related. None when no issue has that id."""
    issue = issue_record(store, issue_id, "symptoms,causes,workarounds")
    if issue is None:
        return None
    article_id = issue["article_id"]
    summaries = store.article_summaries([article_id])
    summary = summaries[0] if summaries else {"applies_to": [], "issue_ids": []}
    related = store.related_articles(article_id)
    others = [store.get_issue(i) for i in summary["issue_ids"] if i != issue_id]
    return {
        "issue": issue,
        "applies_to": summary["applies_to"],
        "other_issues": [
            {"id": o["id"], "number": o["number"], "title": o["title"]} for o in others if o
        ],
        "related": links.related_links(related),
    }

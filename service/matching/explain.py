"""Ranked issues in, the answer to a paste out: plain dicts in the shape of `/v1/match`.

What a match shows of its issue (title, causes, fix, related articles) comes from the store and
is kept per worker; what it shows of the paste comes from the ranker's evidence as it is.
Schemas are the views' business: nothing here is dumped.
"""

from __future__ import annotations

from typing import Any

from service import learning
from service.article_text import article_lines
from service.error_codes import ErrorCode
from service.kb import KnowledgeBase
from service.links import article_url, cause_links, issue_url, related_links, workaround_links
from service.matching.parse import Paste
from service.matching.rank import Evidence, RankedIssue, RankOutcome

NO_MATCH_HINT = (
    "No known issue matched. Paste more of the log (the lines around the first error help most), "
    "include the log file names, or describe the problem in words at /v1/search?q=..."
)


def explain_answer(
    kb: KnowledgeBase, paste: Paste, outcome: RankOutcome, limit: int
) -> dict[str, Any]:
    """The `/v1/match` body (without its request id) for the first `limit` ranked issues."""
    shown = outcome.issues[:limit]
    details = _uncached_issue_details(kb, shown)
    matches = [explain_match(kb, ranked, details) for ranked in shown]
    body: dict[str, Any] = {
        "lines_read": paste.physical_lines,
        "records_read": len(paste.lines),
        "format": paste.format,
        "log_files": paste.log_files,
        "matched_lines": outcome.matched_lines,
        "unmatched_lines": outcome.unmatched_lines,
        "truncated_lines": paste.truncated,
        "matches": matches,
    }
    if not matches:
        body["hint"] = NO_MATCH_HINT
    return body


def explain_match(
    kb: KnowledgeBase, ranked: RankedIssue, details: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One match of an answer: the issue, how sure, the paste lines behind it, and its fix.
    `details`: issue records already read, by issue id (see `_uncached_issue_details`)."""
    context = issue_context(kb, ranked.issue_id, ranked.article_id, details)
    # Each code once, as the paste first writes it.
    codes: dict[tuple[str, int], ErrorCode] = {}
    for e in sorted(ranked.evidence, key=lambda e: e.line):
        for code in e.codes:
            codes.setdefault(code.key, code)
    return {
        "article_id": ranked.article_id,
        "issue_id": ranked.issue_id,
        "title": context["title"],
        "article_title": context["article_title"],
        "score": round(ranked.score, 4),
        "confidence": ranked.confidence,
        "matched_lines": [_matched_line(kb, ranked, e, context) for e in ranked.evidence],
        "matched_terms": ranked.text_terms,
        "text_coverage": ranked.text_coverage,
        "log_files": ranked.log_files,
        "error_codes": [code.as_dict() for code in codes.values()],
        "causes": context["causes"],
        "remediation": context["remediation"],
        "related_articles": context["related_articles"],
        "links": {"issue": issue_url(ranked.issue_id), "article": article_url(ranked.article_id)},
    }


def issue_context(
    kb: KnowledgeBase,
    issue_id: str,
    article_id: str,
    details: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What a match shows of its issue beyond the evidence: title, causes, fix, related.

    Kept per worker until its article, or an article it links to, is written: the same issues
    come up again and again, and their records change only when such an article does.
    """
    cache = kb.explain_cache()
    context = cache.get(issue_id)
    if context is not None:
        return context
    store = kb.store
    issue = (details or {}).get(issue_id) or store.issue_details(issue_id) or {}
    learned = learning.learned_symptoms(store, issue_id)
    related = store.related_articles(article_id)
    present = store.existing_article_ids([r["article_id"] for r in related])
    for r in related:
        r["in_store"] = r["article_id"] in present
    related_links(related)
    for cause in issue.get("causes", []):
        cause_links(cause, present)
    for workaround in issue.get("workarounds", []):
        workaround_links(workaround)
    context = {
        "title": issue.get("title", ""),
        "article_title": issue.get("article_title", ""),
        "symptom_texts": {
            **{s["id"]: s["text"] for s in issue.get("symptoms", [])},
            **{s["id"]: s["text"] for s in learned},
        },
        "learned_ids": {s["id"] for s in learned},
        "causes": issue.get("causes", []),
        "remediation": issue.get("workarounds", []),
        "related_articles": related,
    }
    # What the context shows of other articles: whether they are in the store.
    others = {r["article_id"] for r in related}
    others |= {c["missing_update"] for c in issue.get("causes", []) if c.get("missing_update")}
    cache.put(issue_id, context, {article_id, *others})
    return context


def _uncached_issue_details(
    kb: KnowledgeBase, ranked: list[RankedIssue]
) -> dict[str, dict[str, Any]]:
    """The records of every answered issue whose context is not cached, read all at once
    rather than one issue at a time."""
    cache = kb.explain_cache()
    missing = [r.issue_id for r in ranked if cache.get(r.issue_id) is None]
    return kb.store.issues_details(missing) if missing else {}


def article_line_text(kb: KnowledgeBase, article_id: str, e: Evidence) -> str:
    """The article's own words for the line a match found in its text.

    The line index keeps keys, not words: the words are read from the stored article when a
    match shows them (only the paragraphs having the matched words are cut), and kept until the
    article is written.
    """
    cache = kb.explain_cache()
    name = f"line {e.line_key} of {article_id}"
    text = cache.get(name)
    if text is None:
        document = kb.store.article_text(article_id)
        text = ""
        if document is not None:
            for line in article_lines(document, e.key_words):
                if line.key == e.line_key:
                    text = line.text
                    break
        cache.put(name, text, {article_id})
    return text


def _matched_line(
    kb: KnowledgeBase, ranked: RankedIssue, e: Evidence, context: dict[str, Any]
) -> dict[str, Any]:
    if e.line_key is not None:
        return {
            "line": e.line,
            "text": e.text,
            "symptom_id": None,
            "symptom_text": article_line_text(kb, ranked.article_id, e),
            "match": e.how,
            "similarity": e.similarity,
            "learned": False,
            "source": "article_text",
            "shared_by": e.shared_by,
        }
    learned = e.symptom_id in context["learned_ids"]
    return {
        "line": e.line,
        "text": e.text,
        "symptom_id": e.symptom_id,
        "symptom_text": context["symptom_texts"].get(e.symptom_id, ""),
        "match": e.how,
        "similarity": e.similarity,
        "learned": learned,
        "source": "learned" if learned else "symptom",
        "shared_by": e.shared_by,
    }

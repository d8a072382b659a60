"""A pasted log in, ranked and explained issues out: parse, rank, then fill in the records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.api import IssueContextOut
from service import budget, learning
from service.article_text import article_lines
from service.kb import KnowledgeBase
from service.links import article_url, cause_links, issue_url, related_links, workaround_links
from service.normalize import NormalizedLine, describe_code, normalize, parse_paste
from service.ranking import Evidence, RankedIssue, Ranker

_CONTEXT_SCHEMA = IssueContextOut()
NO_MATCH_HINT = (
    "No known issue matched. Paste more of the log (the lines around the first error help most), "
    "include the log file names, or describe the problem in words at /v1/search?q=..."
)


class PasteTooLarge(ValueError):
    """The paste breaks a configured bound; the message says which and what to do."""


class PasteTooCostly(PasteTooLarge):
    """Matching the paste needs more time than one request is given (KB_MATCH_BUDGET_MS)."""


def _product_filter(kb: KnowledgeBase, product: str | None, version: str | None):
    if not product and not version:
        return None
    cache: dict[str, bool] = {}

    def allowed(article_id: str) -> bool:
        if article_id not in cache:
            cache[article_id] = any(
                (not product or product.lower() in stored_product.lower())
                and (not version or version.lower() == stored_version.lower())
                for stored_product, stored_version in kb.store.products_of_article(article_id)
            )
        return cache[article_id]

    return allowed


@dataclass
class MatchAnalysis:
    """A match answer and what feedback on it may need later."""

    body: dict[str, Any]
    # Distinct normalised lines that matched no symptom.
    unmatched: list[NormalizedLine] = field(default_factory=list)
    # issue id -> signatures of the paste lines that matched it, for the issues answered.
    evidence: dict[str, list[str]] = field(default_factory=dict)


def match_log(
    kb: KnowledgeBase,
    text: str,
    *,
    limit: int,
    product: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """Match a paste and return the response body of `/v1/match`."""
    return analyse_log(kb, text, limit=limit, product=product, version=version).body


def analyse_log(
    kb: KnowledgeBase,
    text: str,
    *,
    limit: int,
    product: str | None = None,
    version: str | None = None,
) -> MatchAnalysis:
    """Match a paste: the `/v1/match` body, plus the lines behind it for feedback."""
    config = kb.config
    try:
        with budget.spending(config.match_budget_ms / 1000):
            return _analyse(kb, text, limit=limit, product=product, version=version)
    except budget.BudgetExceeded as exc:
        raise PasteTooCostly(
            f"matching it takes longer than the {config.match_budget_ms} ms one request is "
            f"given (time ran out while {exc.stage}); send fewer lines, such as the few hundred "
            "around the first error (or raise KB_MATCH_BUDGET_MS on the server)"
        ) from None


def _analyse(
    kb: KnowledgeBase, text: str, *, limit: int, product: str | None, version: str | None
) -> MatchAnalysis:
    config = kb.config
    paste = parse_paste(
        text, max_lines=config.max_paste_lines + 1, max_line_chars=config.max_line_chars
    )
    if paste.physical_lines > config.max_paste_lines:
        raise PasteTooLarge(
            f"the paste has more than {config.max_paste_lines} lines; send the part around the "
            "error (or raise KB_MAX_PASTE_LINES on the server)"
        )
    searcher = kb.index.searcher()
    ranker = Ranker(searcher, kb.index.caches, kb.store, kb.index.articles_saying, _learned_ids(kb))
    outcome = ranker.rank(paste.lines, paste.log_files, _product_filter(kb, product, version))
    ranked_issues = _apply_penalties(kb, outcome.issues)
    evidence = {
        r.issue_id: sorted({normalize(e.text).signature for e in r.evidence})
        for r in ranked_issues[:limit]
    }
    details = _uncached_issue_details(kb, ranked_issues[:limit])
    matches = [_explain(kb, ranked, details) for ranked in ranked_issues[:limit]]
    body: dict[str, Any] = {
        "lines_read": paste.physical_lines,
        "records_read": sum(1 for line in paste.lines if not line.is_header),
        "format": paste.format,
        "log_files": paste.log_files,
        "matched_lines": outcome.matched_lines,
        "unmatched_lines": outcome.unmatched_lines,
        "truncated_lines": paste.truncated,
        "matches": matches,
    }
    if not matches:
        body["hint"] = NO_MATCH_HINT
    return MatchAnalysis(body, outcome.unmatched, evidence)


def _learned_ids(kb: KnowledgeBase) -> frozenset[str]:
    cache = kb.explain_cache()
    learned = cache.get("learned symptoms")
    if learned is None:
        learned = learning.learned_ids(kb.store)
        cache["learned symptoms"] = learned
    return learned


def _apply_penalties(kb: KnowledgeBase, issues: list[RankedIssue]) -> list[RankedIssue]:
    """Lower issues that users said did not help, when the same lines put them here again.

    Lowered, never removed: an issue the paste's lines found stays in the answer, so doubts
    (even approved ones) reorder what the articles say rather than hide it.
    """
    cache = kb.explain_cache()
    penalised = cache.get("penalised issues")
    if penalised is None:
        penalised = kb.store.penalised_issue_ids()
        cache["penalised issues"] = penalised
    if not penalised or not any(r.issue_id in penalised for r in issues):
        return issues
    for ranked in issues:
        if ranked.issue_id not in penalised:
            continue
        verdicts_by_line = learning.penalties(kb.store, ranked.issue_id)
        verdicts = max(
            (verdicts_by_line.get(normalize(e.text).signature, 0) for e in ranked.evidence),
            default=0,
        )
        ranked.score *= learning.penalty_factor(verdicts)
    issues.sort(key=RankedIssue.order)
    return issues


def _uncached_issue_details(
    kb: KnowledgeBase, ranked: list[RankedIssue]
) -> dict[str, dict[str, Any]]:
    """The records of every answered issue whose context is not cached, read all at once
    rather than one issue at a time."""
    cache = kb.explain_cache()
    missing = [r.issue_id for r in ranked if cache.get(r.issue_id) is None]
    return kb.store.issues_details(missing) if missing else {}


def _issue_context(
    kb: KnowledgeBase, issue_id: str, article_id: str, details: dict[str, dict[str, Any]]
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
    issue = details.get(issue_id) or store.issue_details(issue_id) or {}
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
        **_CONTEXT_SCHEMA.dump(
            {
                "causes": issue.get("causes", []),
                "remediation": issue.get("workarounds", []),
                "related_articles": related,
            }
        ),
    }
    # What the context shows of other articles: whether they are in the store.
    others = {r["article_id"] for r in related}
    others |= {c["missing_update"] for c in issue.get("causes", []) if c.get("missing_update")}
    cache.put(issue_id, context, {article_id, *others})
    return context


def _article_line_text(kb: KnowledgeBase, article_id: str, e: Evidence) -> str:
    """The article's own words for the line a match found in its text.

    Worked out from the stored article when a match shows it (only the paragraphs having the
    matched words are cut again), and kept until the article is written.
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


def _matched_line(kb: KnowledgeBase, ranked: RankedIssue, e: Evidence, context: dict) -> dict:
    if e.line_key is not None:
        said = _article_line_text(kb, ranked.article_id, e)
        return {
            "line": e.line,
            "text": e.text,
            "symptom_id": None,
            "symptom_text": said,
            "match": e.how,
            "similarity": e.similarity,
            "learned": False,
            "source": "article_text",
            "shared_by": e.shared_by,
        }
    return {
        "line": e.line,
        "text": e.text,
        "symptom_id": e.symptom_id,
        "symptom_text": context["symptom_texts"].get(e.symptom_id, ""),
        "match": e.how,
        "similarity": e.similarity,
        "learned": e.symptom_id in context["learned_ids"],
        "source": "learned" if e.symptom_id in context["learned_ids"] else "symptom",
        "shared_by": e.shared_by,
    }


def _explain(
    kb: KnowledgeBase, ranked: RankedIssue, details: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    context = _issue_context(kb, ranked.issue_id, ranked.article_id, details)
    codes = sorted({code for e in ranked.evidence for code in e.codes})
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
        "error_codes": [{"code": c, "meaning": describe_code(c)} for c in codes],
        "causes": context["causes"],
        "remediation": context["remediation"],
        "related_articles": context["related_articles"],
        "links": {"issue": issue_url(ranked.issue_id), "article": article_url(ranked.article_id)},
    }

"""Ranked issues in, the answer to a paste out: plain dicts in the shape of `/v1/match`.

What a match shows of its issue (title, causes, fix, related articles) comes from the store and
is kept per worker; what it shows of the paste comes from the ranker's evidence as it is.
Schemas are the views' business: nothing here is dumped.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from service import learning
from service.article_text import iter_article_lines
from service.error_codes import ErrorCode
from service.kb import KnowledgeBase
from service.limits import BRIEF_MATCH_LINES, MATCH_DETAIL_DEFAULT, STEP_TITLE_CHARS
from service.links import (
    article_url,
    cause_links,
    issue_url,
    related_links,
    workaround_links,
)
from service.matching.parse import Paste
from service.matching.rank import CONFIDENT, WEAK_EVIDENCE, Evidence, RankedIssue, RankOutcome

SURE, NOT_SURE = "sure", "not sure"
# What a brief match keeps of a full one as it is (its lines and fixes are cut down).
BRIEF_KEYS = (
    "article_id",
    "issue_id",
    "title",
    "score",
    "confidence",
    "certainty",
    "confidence_reason",
    "links",
)
# Where a full answer asked for it (`brief_too`) holds its matches in brief; no schema dumps it.
BRIEF_MATCHES = "brief_matches"
# Words of a paste's prose a confidence reason names, at most.
REASON_WORDS = 5
# A workaround the importer named after its section ("Workaround", "Resolution (issue 2)"),
# for want of a title in the article: such a title says nothing of the fix.
_SECTION_TITLE = re.compile(r"(?:resolution|workaround)s?(?: \(issue \d+\))?", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")

NO_MATCH_HINT = (
    "No known issue matched. Paste more of the log (the lines around the first error help most), "
    "include the log file names, or describe the problem in words at /v1/search?q=..."
)


def explain_answer(
    kb: KnowledgeBase,
    paste: Paste,
    outcome: RankOutcome,
    limit: int,
    detail: str = MATCH_DETAIL_DEFAULT,
    *,
    brief_too: bool = False,
) -> dict[str, Any]:
    """The `/v1/match` body (without its request id) for the first `limit` ranked issues,
    each match in full or brief (`detail`, one of limits.MATCH_DETAILS). With `brief_too`, a
    full body also holds each match in brief under BRIEF_MATCHES."""
    shown = outcome.issues[:limit]
    contexts = issue_contexts(kb, [(r.issue_id, r.article_id) for r in shown])
    matches = [explain_match(kb, ranked, contexts[ranked.issue_id]) for ranked in shown]
    briefs: list[dict[str, Any]] = []
    if detail == "brief" or brief_too:
        briefs = [brief_match(match, ranked) for match, ranked in zip(matches, shown, strict=True)]
    if detail == "brief":
        matches = briefs
    body: dict[str, Any] = {
        "detail": detail,
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
    if brief_too and detail != "brief":
        body[BRIEF_MATCHES] = briefs
    return body


def explain_match(
    kb: KnowledgeBase, ranked: RankedIssue, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One match of an answer: the issue, how sure, the paste lines behind it, and its fix.
    `context`: the issue's, when read already (see `issue_contexts`)."""
    if context is None:
        context = issue_contexts(kb, [(ranked.issue_id, ranked.article_id)])[ranked.issue_id]
    return {
        "article_id": ranked.article_id,
        "issue_id": ranked.issue_id,
        "title": context["title"],
        "article_title": context["article_title"],
        "score": round(ranked.score, 4),
        "confidence": ranked.confidence,
        "certainty": certainty(ranked.confidence),
        "confidence_reason": confidence_reason(ranked, context["learned_ids"]),
        "matched_lines": [_matched_line(kb, ranked, e, context) for e in ranked.evidence],
        "matched_terms": ranked.text_terms,
        "text_coverage": ranked.text_coverage,
        "log_files": ranked.log_files,
        "error_codes": error_codes(ranked.evidence),
        "causes": context["causes"],
        "remediation": context["remediation"],
        "related_articles": context["related_articles"],
        "links": {"issue": issue_url(ranked.issue_id), "article": article_url(ranked.article_id)},
    }


def error_codes(evidence: list[Evidence]) -> list[dict[str, Any]]:
    """The error codes of the matched lines, each once, as the paste first writes it."""
    codes: dict[tuple[str, int], ErrorCode] = {}
    for e in sorted(evidence, key=lambda e: e.line):
        for code in e.codes:
            codes.setdefault(code.key, code)
    return [code.as_dict() for code in codes.values()]


def certainty(confidence: float) -> str:
    """What an answer calls a match of this confidence: sure from CONFIDENT on."""
    return SURE if confidence >= CONFIDENT else NOT_SURE


def confidence_reason(ranked: RankedIssue, learned: set[str] | frozenset[str] = frozenset()) -> str:
    """One line saying what made a match's confidence what it is: how many paste lines matched
    and how, whether they are specific or short and common, how many issues or articles say
    them too, and what else counted (prose, log file names, lines taught by feedback).

    These are the facts the ranker weighs: a long, rare line counts in full, a short or common
    one little, and a line several issues say counts only as far as it tells them apart."""
    best: dict[int, Evidence] = {}
    for e in ranked.evidence:
        if e.line not in best or e.weight > best[e.line].weight:
            best[e.line] = e
    lines = list(best.values())
    parts = [_lines_reason(lines, learned)] if lines else ["no log line matched"]
    if ranked.text_terms:
        words = ", ".join(ranked.text_terms[:REASON_WORDS])
        more = ", ..." if len(ranked.text_terms) > REASON_WORDS else ""
        parts.append(
            f"its text covers {ranked.text_coverage:.0%} of the pasted prose, rare words "
            f"counting most ({words}{more})"
        )
    if ranked.log_files:
        files = "log file" if len(ranked.log_files) == 1 else "log files"
        parts.append(f"the paste names its {files} {', '.join(ranked.log_files)}")
    return "; ".join(parts)


def _lines_reason(lines: list[Evidence], learned: set[str] | frozenset[str]) -> str:
    count = len(lines)
    kinds = Counter(e.how for e in lines)
    how = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    reason = f"{_plural(count, 'line')} matched ({how})"
    weak = sum(e.weight < WEAK_EVIDENCE for e in lines)
    if weak == count:
        reason += f", {'' if count == 1 else 'all '}short or common, counting for little"
    elif weak:
        reason += f", {weak} of them short or common"
    shared = [e for e in lines if e.shared_by > 1]
    if not shared:
        reason += ", said by this issue alone"
    else:
        most = max(shared, key=lambda e: e.shared_by)
        what = "articles" if most.line_key is not None else "issues"
        which = "" if len(shared) == count else f"{len(shared)} of them "
        reason += f", {which}said by up to {most.shared_by} {what} (the rest of the paste decides)"
    taught = sum(e.symptom_id in learned for e in lines)
    if taught:
        reason += f", {taught} learned from feedback"
    return reason


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def brief_match(match: dict[str, Any], ranked: RankedIssue) -> dict[str, Any]:
    """A match as a brief answer gives it: the issue, how sure and why, its strongest matched
    lines (at most BRIEF_MATCH_LINES, in paste order), the error codes those report, and each
    fix by title with its steps' titles (the view adds the page to read the rest on)."""
    strongest = sorted(
        zip(ranked.evidence, match["matched_lines"], strict=True), key=lambda pair: -pair[0].weight
    )
    chosen: dict[int, dict[str, Any]] = {}
    behind: list[Evidence] = []
    for e, item in strongest:
        if len(chosen) == BRIEF_MATCH_LINES:
            break
        if e.line not in chosen:
            chosen[e.line] = item
            behind.append(e)
    return {
        **{key: match[key] for key in BRIEF_KEYS},
        "matched_lines": [chosen[line] for line in sorted(chosen)],
        "error_codes": error_codes(behind),
        "fixes": [brief_fix(workaround) for workaround in match["remediation"]],
    }


def brief_fix(workaround: dict[str, Any]) -> dict[str, Any]:
    """A workaround as a title and its steps' titles, in the order to follow them."""
    title = workaround["title"]
    if _SECTION_TITLE.fullmatch(title.strip()) and workaround.get("description"):
        title = step_title(workaround["description"])
    return {"title": title, "steps": [step_title(step["text"]) for step in workaround["steps"]]}


def step_title(text: str) -> str:
    """A step's first sentence (of its first line), cut at a word within STEP_TITLE_CHARS."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0]
    if len(sentence) <= STEP_TITLE_CHARS:
        return sentence
    return sentence[: STEP_TITLE_CHARS - 3].rsplit(" ", 1)[0].rstrip(",;:") + "..."


def issue_contexts(kb: KnowledgeBase, issues: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """What each match shows of its issue beyond the evidence: title, causes, fix, related;
    by issue id, for (issue id, article id) pairs.

    Kept per worker until its article, or an article it links to, is written: the same issues
    come up again and again, and their records change only when such an article does. What is
    not kept is read for all the issues at once, a statement per kind of record rather than
    per issue.
    """
    cache = kb.explain_cache()
    contexts = {issue_id: cache.get(issue_id) for issue_id, _ in issues}
    missing = {issue_id: article_id for issue_id, article_id in issues if not contexts[issue_id]}
    if not missing:
        return contexts
    store = kb.store
    details = store.issues_details(list(missing))
    learned = learning.learned_symptoms_of(store, list(missing))
    # Related articles come saying whether each is in the store; the updates causes name as
    # missing are looked up (when there are any).
    related = store.related_articles_of(list(set(missing.values())))
    named = {
        c["missing_update"]
        for issue in details.values()
        for c in issue.get("causes", [])
        if c.get("missing_update")
    }
    present = store.existing_article_ids(sorted(named))
    for issue_id, article_id in missing.items():
        issue = details.get(issue_id) or {}
        # A copy each: the links are added to what an issue's context holds.
        shown = [dict(r) for r in related.get(article_id, [])]
        related_links(shown)
        for cause in issue.get("causes", []):
            cause_links(cause, present)
        for workaround in issue.get("workarounds", []):
            workaround_links(workaround)
        taught = learned.get(issue_id, [])
        context = {
            "title": issue.get("title", ""),
            "article_title": issue.get("article_title", ""),
            "symptom_texts": {
                **{s["id"]: s["text"] for s in issue.get("symptoms", [])},
                **{s["id"]: s["text"] for s in taught},
            },
            "learned_ids": {s["id"] for s in taught},
            "causes": issue.get("causes", []),
            "remediation": issue.get("workarounds", []),
            "related_articles": shown,
        }
        others = {r["article_id"] for r in shown}
        others |= {c["missing_update"] for c in context["causes"] if c.get("missing_update")}
        cache.put(issue_id, context, {article_id, *others})
        contexts[issue_id] = context
    return contexts


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
            for line in iter_article_lines(document, e.key_words):
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

"""Answering a paste: parse, rank, explain, under the request's time budget.

`answer_paste` is what every caller uses (the JSON API, the paste page, the MCP server): it
applies the defaults, and records the answer in the metrics and the activity log.
`analyse_log` is the same pipeline without the recording, for feedback sent with its paste;
`rank_paste` is the rank step wired to a knowledge base.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from service import budget, learning, observability
from service.kb import KnowledgeBase
from service.limits import MATCH_DETAIL_DEFAULT
from service.matching.explain import explain_answer
from service.matching.parse import Paste, PasteTooCostly, parse
from service.matching.rank import Penalties, Ranker, RankOutcome
from service.normalize import NormalizedLine
from service.products import ProductFilter, describe_filter, product_filter
from service.storage import Store

if TYPE_CHECKING:
    # For the annotation only: service.activity imports the ranker's threshold from here.
    from service.activity import ActivityLog


@dataclass(frozen=True)
class MatchOptions:
    """What a caller may ask of a match; None means the server's default or no filter."""

    limit: int | None = None
    product: str | None = None
    version: str | None = None
    # One of limits.MATCH_DETAILS: how much of each match to give.
    detail: str | None = None
    # A full answer that also carries each match in brief (under explain.BRIEF_MATCHES, which
    # no schema dumps), for a page that shows the one and copies the other.
    brief_too: bool = False


@dataclass
class MatchAnalysis:
    """A match answer and what feedback on it may need later."""

    body: dict[str, Any]
    # Distinct normalised lines that matched no symptom.
    unmatched: list[NormalizedLine] = field(default_factory=list)
    # issue id -> signatures of the paste lines that matched it, for the issues answered.
    evidence: dict[str, list[str]] = field(default_factory=dict)


def answer_paste(
    kb: KnowledgeBase,
    text: str,
    options: MatchOptions | None = None,
    *,
    request_id: str,
    activity: ActivityLog | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """Match a paste and record the answer; the `/v1/match` body as plain data.

    The answer counts in the match metrics, and is queued in `activity` (when the server
    records activity) under `request_id`, which feedback names it by. `client` is the keyed
    hash of the sender's address (service.privacy), or None when there is no address.
    Raises PasteTooLarge (or PasteTooCostly) when the paste breaks a configured bound.
    """
    options = options or MatchOptions()
    analysis = analyse_log(
        kb,
        text,
        limit=options.limit or kb.config.default_match_limit,
        product=options.product,
        version=options.version,
        detail=options.detail or MATCH_DETAIL_DEFAULT,
        brief_too=options.brief_too,
    )
    answer = {"request_id": request_id, **analysis.body}
    observability.record_match(answer["matches"])
    if activity is not None:
        activity.record_match(
            request_id, answer["matches"], analysis.evidence, analysis.unmatched, client
        )
    return answer


def match_log(
    kb: KnowledgeBase,
    text: str,
    *,
    limit: int,
    product: str | None = None,
    version: str | None = None,
    brief_too: bool = False,
) -> dict[str, Any]:
    """Match a paste and return the `/v1/match` body (without request id), recording nothing;
    with `brief_too`, see MatchOptions."""
    return analyse_log(
        kb, text, limit=limit, product=product, version=version, brief_too=brief_too
    ).body


def analyse_log(
    kb: KnowledgeBase,
    text: str,
    *,
    limit: int,
    product: str | None = None,
    version: str | None = None,
    detail: str = MATCH_DETAIL_DEFAULT,
    brief_too: bool = False,
) -> MatchAnalysis:
    """Match a paste: the `/v1/match` body (each match in full, or brief), plus the lines
    behind it for feedback; with `brief_too`, see MatchOptions."""
    config = kb.config
    try:
        with budget.spending(config.match_budget_ms / 1000):
            return _analyse(
                kb,
                text,
                limit=limit,
                product=product,
                version=version,
                detail=detail,
                brief_too=brief_too,
            )
    except budget.BudgetExceeded as exc:
        raise PasteTooCostly(
            f"matching it takes longer than the {config.match_budget_ms} ms one request is "
            f"given (time ran out while {exc.stage}); send fewer lines, such as the few hundred "
            "around the first error (or raise KB_MATCH_BUDGET_MS on the server)"
        ) from None


def _analyse(
    kb: KnowledgeBase,
    text: str,
    *,
    limit: int,
    product: str | None,
    version: str | None,
    detail: str,
    brief_too: bool = False,
) -> MatchAnalysis:
    config = kb.config
    paste = parse(text, max_lines=config.max_paste_lines, max_line_chars=config.max_line_chars)
    filters = product_filter(kb, product, version)
    # article id -> the (product, version) rows it applies to, read once per request
    applies: dict[str, list[tuple[str, str]]] = {}
    outcome = rank_paste(kb, paste, filters, applies)
    evidence = {
        ranked.issue_id: sorted({e.signature for e in ranked.evidence})
        for ranked in outcome.issues[:limit]
    }
    body = explain_answer(kb, paste, outcome, limit, detail, brief_too=brief_too)
    if filters is not None:
        part = body["filters"] = _filters_part(kb, filters, outcome, applies)
        # Nothing shown because of the filters: more of the log would not help, they would.
        if not body["matches"] and part["note"]:
            body["hint"] = part["note"]
    return MatchAnalysis(body, outcome.unmatched, evidence)


def _filters_part(
    kb: KnowledgeBase,
    filters: ProductFilter,
    outcome: RankOutcome,
    applies: dict[str, list[tuple[str, str]]],
) -> dict[str, Any]:
    """What the filters meant and what they hid: the issues the paste matches that they left
    out, counted, and the filters that left each out."""
    rows = [_applies_to(kb.store, r.article_id, applies) for r in outcome.hidden]
    hidden_by = [name for applies in rows for name in filters.hidden_by(applies)]
    return describe_filter(
        kb, filters, len(outcome.hidden), hidden_by, best_hidden=rows[0] if rows else None
    )


def rank_paste(
    kb: KnowledgeBase,
    paste: Paste,
    filters: ProductFilter | None = None,
    applies: dict[str, list[tuple[str, str]]] | None = None,
) -> RankOutcome:
    """Rank a parsed paste against the knowledge base's index, with what users taught and the
    penalties they approved, narrowed to articles of the products and versions of `filters`
    when given (`applies`: the articles' product rows read so far, added to)."""
    ranker = Ranker(
        kb.index.searcher(),
        kb.index.caches,
        kb.store,
        kb.index.articles_saying,
        _learned_ids(kb),
    )
    return ranker.rank(
        paste.lines,
        paste.log_files,
        allowed=_allowed(kb.store, filters, {} if applies is None else applies),
        penalties=_penalties(kb),
    )


def _learned_ids(kb: KnowledgeBase) -> frozenset[str]:
    cache = kb.explain_cache()
    learned = cache.get("learned symptoms")
    if learned is None:
        learned = learning.learned_ids(kb.store)
        cache["learned symptoms"] = learned
    return learned


def _penalties(kb: KnowledgeBase) -> Penalties:
    """Approved "did not help" verdicts; which issues have any is kept with the explain cache,
    the verdicts of an issue are read when a paste finds it."""
    cache = kb.explain_cache()
    penalised = cache.get("penalised issues")
    if penalised is None:
        penalised = kb.store.penalised_issue_ids()
        cache["penalised issues"] = penalised
    if not penalised:
        return Penalties()
    return Penalties(frozenset(penalised), lambda issue_id: learning.penalties(kb.store, issue_id))


def _allowed(
    store: Store, filters: ProductFilter | None, applies: dict[str, list[tuple[str, str]]]
) -> Callable[[str], bool] | None:
    """Whether an article applies to a product and version the filters stand for; None
    without filters."""
    if filters is None:
        return None
    return lambda article_id: filters.allows(_applies_to(store, article_id, applies))


def _applies_to(
    store: Store, article_id: str, applies: dict[str, list[tuple[str, str]]]
) -> list[tuple[str, str]]:
    """An article's (product, version) rows, read once per request: a request's cache,
    bounded by the articles its paste finds."""
    rows = applies.get(article_id)
    if rows is None:
        rows = applies[article_id] = store.products_of_article(article_id)
    return rows

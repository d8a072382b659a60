"""Full-text search over articles, and their issues, for people who describe a problem in
words."""

from __future__ import annotations

import math
import re
from typing import Any

from whoosh.analysis import StemmingAnalyzer

from service.index import article_documents, documents_having, issue_documents
from service.kb import KnowledgeBase
from service.links import article_url, issue_page_url, issue_url
from service.products import describe_filter, product_filter
from service.stop_words import PROSE_STOP_WORDS, SEARCH_STOP_WORDS

MAX_QUERY_WORDS = 40
WORD = re.compile(r"[^\W_]+(?:[.'][^\W_]+)*", re.UNICODE)


def search_articles(
    kb: KnowledgeBase, text: str, *, limit: int, product: str | None = None
) -> dict[str, Any]:
    """Articles ranked by BM25 over title and text; matched words are marked ** in snippets.

    Articles with every word come first, as people expect of a search box; when they are fewer
    than `limit`, articles with some of the words follow, each group best first.
    """
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(text)))
    # Function words match nearly every article: they cost the most and rank nothing. They
    # are kept only when nothing else was typed.
    content = [w for w in words if w not in SEARCH_STOP_WORDS]
    words = (content or words)[:MAX_QUERY_WORDS]
    filters = product_filter(kb, product, None)
    products = sorted(filters.names) if filters is not None and filters.names is not None else None
    hits = _ranked(kb, words, limit, products)
    for hit in hits:
        # Significant digits, not decimals: in a knowledge base of a few articles, BM25 gives
        # words most of them hold almost no weight, and a hit's score can be tiny but not 0.
        hit["score"] = float(f"{hit['score']:.4g}")
        hit["links"] = {"article": article_url(hit["article_id"])}
    issues = search_issues(kb, text, [hit["article_id"] for hit in hits], limit=limit)
    answer: dict[str, Any] = {"query": text, "total": len(hits), "results": hits, "issues": issues}
    if filters is not None:
        # A short list may be short because of the filter: the same search without it says
        # how many of its first `limit` articles the filter left out (one search more, only
        # then).
        left_out: list[str] = []
        if len(hits) < limit:
            shown = {hit["article_id"] for hit in hits}
            left_out = [
                h["article_id"]
                for h in _ranked(kb, words, limit, None)
                if h["article_id"] not in shown
            ]
        answer["filters"] = describe_filter(
            kb,
            filters,
            len(left_out),
            ["product"] if left_out else [],
            what="article",
            best_hidden=kb.store.products_of_article(left_out[0]) if left_out else None,
        )
    return answer


def _ranked(
    kb: KnowledgeBase, words: list[str], limit: int, products: list[str] | None
) -> list[dict[str, Any]]:
    """The first `limit` articles with every word, then with some, of `products` if given."""
    store = kb.store
    hits = store.search_articles(words, limit=limit, products=products, every_word=True)
    if len(hits) < limit and len(words) > 1:
        hits += store.search_articles(
            _telling_words(kb, words),
            limit=limit - len(hits),
            products=products,
            exclude=[hit["article_id"] for hit in hits],
        )
    return hits


# The words of a query as the issues' texts are indexed (stemmed), people's function words out.
_issue_words = StemmingAnalyzer(stoplist=PROSE_STOP_WORDS, minsize=2)


def search_issues(
    kb: KnowledgeBase, text: str, article_ids: list[str], *, limit: int
) -> list[dict[str, Any]]:
    """The issues of the articles found, best first, each scored by how much of the query its
    text says: the query's words it has, each weighed by how rare it is among the issues
    (a word no issue has weighs the most), over all the query's words. 0 to 1, so a score
    reads the same in a knowledge base of one article as in one of sixty thousand.

    Which issue says which word is read from the index's postings, not from the issues' texts:
    a search costs a few lookups per word, however long the texts. Issues without any of the
    words are left out; ties keep the articles' order.
    """
    written: dict[str, str] = {}
    for token in _issue_words(text, keeporiginal=True):
        if not token.text.isdigit():
            written.setdefault(token.text, token.original)
    if not written or not article_ids:
        return []
    searcher = kb.index.searcher()
    issue_count = max(1, searcher.doc_frequency("doc_type", "issue"))
    weights = {}
    for word in written:
        frequency = searcher.doc_frequency("content", word)
        weights[word] = math.log(1 + issue_count / max(1, frequency))
    total = sum(weights.values())
    issues_of = {
        article_id: issue_documents(searcher, article_documents(searcher, article_id))
        for article_id in article_ids
    }
    docnums = sorted(docnum for found in issues_of.values() for docnum in found)
    having = documents_having(searcher.reader(), list(written), docnums)
    titles = kb.store.issue_titles([a for a, found in issues_of.items() if found])
    hits = []
    for article_id, found_issues in issues_of.items():
        said = {}
        for docnum in found_issues:
            words = [word for word in written if docnum in having[word]]
            if words:
                said[searcher.stored_fields(docnum)["issue_id"]] = words
        if not said:
            continue
        for row in titles[article_id]:
            found = said.get(row["id"])
            if found is None:
                continue
            hits.append(
                {
                    "issue_id": row["id"],
                    "article_id": article_id,
                    "title": row["title"],
                    "score": round(sum(weights[w] for w in found) / total, 3),
                    "matched_words": [written[w] for w in found],
                    "page_url": issue_page_url(row["id"]),
                    "links": {"issue": issue_url(row["id"]), "article": article_url(article_id)},
                }
            )
    hits.sort(key=lambda hit: -hit["score"])
    return hits[:limit]


def _telling_words(kb: KnowledgeBase, words: list[str]) -> list[str]:
    """`words` without those found in more than half the articles (all, if that is all).

    BM25 gives such a word no weight (FTS5 floors its idf at ~0), so leaving it out of an
    any-word query changes no ranking among articles with other words, while its long list
    of articles is what such a query spends most of its time on: measured on the 60,335
    article archive, 45% less time for the same top result.
    """
    cache = kb.explain_cache()
    frequencies = cache.get(_FREQUENCIES)
    if frequencies is None or len(frequencies) > MAX_CACHED_WORDS:
        frequencies = cache[_FREQUENCIES] = {"": kb.store.count("articles")}
    half = frequencies[""] / 2
    missing = [word for word in words if word not in frequencies]
    if missing:
        frequencies.update(zip(missing, kb.store.articles_with_words(missing), strict=True))
    telling = [word for word in words if frequencies[word] <= half]
    return telling or words


# Where in the knowledge base's per-revision cache the article counts per word are kept, and
# how many words it holds before it starts over (queries can carry any words at all).
_FREQUENCIES = "search:articles-per-word"
MAX_CACHED_WORDS = 20_000

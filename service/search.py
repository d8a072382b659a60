"""Full-text search over articles for people who describe a problem in words."""

from __future__ import annotations

import re
from typing import Any

from service.kb import KnowledgeBase
from service.links import article_url
from service.products import describe_filter, product_filter
from service.stop_words import SEARCH_STOP_WORDS

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
        hit["score"] = round(hit["score"], 4)
        hit["links"] = {"article": article_url(hit["article_id"])}
    answer: dict[str, Any] = {"query": text, "total": len(hits), "results": hits}
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
        seen = {hit["article_id"] for hit in hits}
        some = store.search_articles(_telling_words(kb, words), limit=limit, products=products)
        hits += [hit for hit in some if hit["article_id"] not in seen][: limit - len(hits)]
    return hits


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
    telling = []
    for word in words:
        if word not in frequencies:
            frequencies[word] = kb.store.articles_with_word(word)
        if frequencies[word] <= half:
            telling.append(word)
    return telling or words


# Where in the knowledge base's per-revision cache the article counts per word are kept, and
# how many words it holds before it starts over (queries can carry any words at all).
_FREQUENCIES = "search:articles-per-word"
MAX_CACHED_WORDS = 20_000

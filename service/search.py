"""Full-text search over articles for people who describe a problem in words."""

from __future__ import annotations

import re
from typing import Any

from service.kb import KnowledgeBase
from service.links import article_url

MAX_QUERY_WORDS = 40
WORD = re.compile(r"[^\W_]+(?:[.'][^\W_]+)*", re.UNICODE)


def search_articles(
    kb: KnowledgeBase, text: str, *, limit: int, product: str | None = None
) -> dict[str, Any]:
    """Articles ranked by BM25 over title and text; matched words are marked ** in snippets."""
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(text)))[:MAX_QUERY_WORDS]
    hits = kb.store.search_articles(words, limit=limit, product=product)
    for hit in hits:
        hit["score"] = round(hit["score"], 4)
        hit["links"] = {"article": article_url(hit["article_id"])}
    return {"query": text, "total": len(hits), "results": hits}

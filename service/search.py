"""Full-text search over articles for people who describe a problem in words."""

from __future__ import annotations

from typing import Any

from whoosh import highlight
from whoosh import query as Q
from whoosh.analysis import StemmingAnalyzer

from service.kb import KnowledgeBase
from service.links import article_url

_analyzer = StemmingAnalyzer()
MAX_QUERY_TERMS = 40


class _MarkFormatter(highlight.Formatter):
    """Matched words wrapped in ** so snippets read in JSON, Markdown and terminals alike."""

    between = " … "

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return "**" + highlight.get_text(text, token, replace) + "**"


def _article_text(kb: KnowledgeBase, article_id: str) -> str:
    rows = kb.store.conn.execute(
        "SELECT body FROM sections WHERE article_id=? ORDER BY position", (article_id,)
    ).fetchall()
    summary = kb.store.conn.execute(
        "SELECT summary FROM articles WHERE id=?", (article_id,)
    ).fetchone()
    parts = [summary["summary"]] if summary and summary["summary"] else []
    return "\n".join(parts + [row["body"] for row in rows])


def search_articles(
    kb: KnowledgeBase, text: str, *, limit: int, product: str | None = None
) -> dict[str, Any]:
    """Articles ranked by BM25 over title and text. The words are taken literally: no syntax."""
    terms = list(dict.fromkeys(t.text for t in _analyzer(text)))[:MAX_QUERY_TERMS]
    body: dict[str, Any] = {"query": text, "total": 0, "results": []}
    if not terms:
        return body
    searcher = kb.index.searcher()
    query = Q.Or(
        [Q.Term("title", t, boost=2.0) for t in terms] + [Q.Term("content", t) for t in terms]
    )
    allowed = None
    if product:
        ids = {
            row["article_id"]
            for row in kb.store.conn.execute(
                "SELECT article_id FROM article_products WHERE instr(lower(product), lower(?)) > 0",
                (product,),
            )
        }
        allowed = Q.Or([Q.Term("article_id", i) for i in ids]) if ids else None
        if allowed is None:
            return body
    results = searcher.search(
        query,
        filter=Q.And([Q.Term("doc_type", "article"), allowed])
        if allowed
        else Q.Term("doc_type", "article"),
        limit=limit,
    )
    fragmenter = highlight.ContextFragmenter(maxchars=200, surround=60)
    formatter = _MarkFormatter()
    body["total"] = len(results)
    for hit in results:
        article_id = hit["article_id"]
        snippet = highlight.highlight(
            _article_text(kb, article_id),
            frozenset(terms),
            _analyzer,
            fragmenter,
            formatter,
            top=2,
        )
        body["results"].append(
            {
                "article_id": article_id,
                "title": hit["title"],
                "score": round(hit.score, 4),
                "snippet": snippet,
                "links": {"article": article_url(article_id)},
            }
        )
    return body

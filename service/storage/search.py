"""Full-text search over whole articles (SQLite FTS5), written with each article."""

from __future__ import annotations

from typing import Any

from service.storage.connection import Database, placeholders


class ArticleSearch(Database):
    """BM25-ranked searches of the articles' title and text."""

    def search_articles(
        self,
        words: list[str],
        *,
        limit: int,
        products: list[str] | None = None,
        every_word: bool = False,
    ) -> list[dict[str, Any]]:
        """Articles ranked by BM25 over title (weighted double) and body, with a snippet.

        Articles with any of the words, or with all of them when `every_word`; only those that
        apply to one of `products` (names as stored) when given. The words are quoted one by
        one, so nothing a user types is read as query syntax.
        """
        if not words:
            return []
        match = _fts_query(words, " AND " if every_word else " OR ")
        # Ranking first, snippets after, one row at a time: SQLite works out every selected
        # column of every matching row before it sorts, a snippet costs far more than a score,
        # and a MATCH pinned to one rowid reads that row's postings alone.
        ranked = self._conn.execute(
            "SELECT rowid, -bm25(article_search, 2.0, 1.0) AS score FROM article_search"
            " WHERE article_search MATCH ?"
            + (
                " AND CAST(rowid AS TEXT) IN (SELECT article_id FROM article_products"
                f" WHERE product IN ({placeholders(products)}))"
                if products is not None
                else ""
            )
            + " ORDER BY bm25(article_search, 2.0, 1.0) LIMIT ?",
            [match, *(products or ()), limit],
        ).fetchall()
        hits = []
        for rowid, score in ranked:
            row = self._conn.execute(
                "SELECT a.id AS article_id, a.title,"
                " snippet(article_search, 1, '**', '**', ' … ', 24) AS snippet"
                " FROM article_search JOIN articles a ON a.id = CAST(article_search.rowid AS TEXT)"
                " WHERE article_search MATCH ? AND article_search.rowid = ?",
                (match, rowid),
            ).fetchone()
            if row is not None:
                hits.append({**dict(row), "score": score})
        return hits

    def articles_ranked(self, words: list[str], limit: int) -> list[str]:
        """Ids of the articles best matching any of `words` by BM25 (title counted double)."""
        if not words:
            return []
        rows = self._conn.execute(
            "SELECT rowid FROM article_search WHERE article_search MATCH ?"
            " ORDER BY bm25(article_search, 2.0, 1.0) LIMIT ?",
            (_fts_query(words, " OR "), limit),
        )
        return [str(row[0]) for row in rows]

    def articles_with_word(self, word: str) -> int:
        """How many articles the full-text index finds `word` in (stemmed, as searches are)."""
        return self._conn.execute(
            "SELECT count(*) FROM article_search WHERE article_search MATCH ?",
            (_fts_query([word], ""),),
        ).fetchone()[0]


def _fts_query(words: list[str], joiner: str) -> str:
    """An FTS5 query of `words` taken literally, each quoted, joined by `joiner`."""
    return joiner.join('"' + w.replace('"', '""') + '"' for w in words)

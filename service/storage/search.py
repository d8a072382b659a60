"""Full-text search over whole articles, written with each article.

SQLite searches its FTS5 table (porter stemming, BM25); PostgreSQL the tsvector column of its
`article_search` table through a GIN index (English stemming, `ts_rank_cd` kept per article and
word, weighed by idf). Either way the words are taken literally, the title counts double the
text, and an article's number is its row in the search table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from service.storage.connection import Database, placeholders
from service.storage.snippets import snippet

# PostgreSQL's ranking, written to rank as BM25 does where it matters: each word's
# `ts_rank_cd` (title, label A, counted double the text, label B) weighed by how rare the word
# is (BM25's idf, floored near 0 as FTS5 floors it). Plain `ts_rank_cd` of an any-word query
# has no idf: an article saying a common word often would outrank one with the rare words.
# Normalisation 33 (1 + 32): divided by the log of the article's length, and saturating
# (rank / (rank + 1)), as BM25's length and term-frequency parts do. A word in half the
# articles or more has the floor idf, and its rank (below 1) would add under a millionth: it
# counts as half of that, unranked. The words' weights are worked out once (MATERIALIZED):
# inlined, each joined row would take the logarithm of a numeric again.
# A word's `ts_rank_cd` in an article is not worked out here but read from `article_terms`,
# where the database keeps each article's rank for each of its words (schema.py, version 4):
# working it out decompresses the article's tsvector, once per word, for every article with
# the word, which was most of what a search cost PostgreSQL. Only a word punctuation splits
# (a phrase, "copylog tcf") is still ranked from the tsvector. Either way, the same scores.
# Parameters: the words, how many articles have each, how many articles there are; then,
# with `_HITS_OF_EVERY`, the query of every word; then those of `{products}`; then the limit.
# `{hits}` is `_HITS_OF_ANY` or `_HITS_OF_EVERY`; `{every}` is empty, or a HAVING clause that
# keeps articles with every word.
# A query word's lexeme when it is one (most are; a phrase is a word punctuation split), else
# NULL: such a word is ranked and counted from article_terms, a phrase from the tsvector.
_LEXEME = (
    "CASE WHEN numnode(q.query) = 1 AND querytree(q.query) ~ '^''[[:alnum:]]+''$'"
    " THEN btrim(querytree(q.query), '''') END"
)
_RANKED = (
    "words AS (SELECT q.query, t.found, " + _LEXEME + " AS lexeme"
    " FROM unnest(?::text[], ?::bigint[]) AS t(word, found),"
    " LATERAL (SELECT websearch_to_tsquery('kb_english', t.word) AS query) q"
    " WHERE numnode(q.query) > 0),"
    " weighted AS MATERIALIZED (SELECT w.query, w.lexeme,"
    " greatest(ln((?::bigint - w.found + 0.5) / (w.found + 0.5)), 1e-6) AS idf FROM words w),"
    "{hits}"
    " ranked AS (SELECT h.rowid, sum(h.score) AS score FROM hits h WHERE true{products}"
    " GROUP BY h.rowid{every} ORDER BY score DESC, h.rowid LIMIT ?)"
)
_SCORE = "CASE WHEN x.idf > 1e-6 THEN x.idf * {rank} ELSE 5e-7 END AS score"
_TS_RANK = "ts_rank_cd('{0.1, 0.2, 0.5, 1.0}', s.document, x.query, 33)"
# Every article with any of the words, and its score for each.
_HITS_OF_ANY = (
    " hits AS (SELECT t.rowid, " + _SCORE.format(rank="t.rank") +
    " FROM weighted x JOIN article_terms t ON t.lexeme = x.lexeme"
    " UNION ALL SELECT s.rowid, " + _SCORE.format(rank=_TS_RANK) +
    " FROM weighted x JOIN article_search s ON x.lexeme IS NULL AND s.document @@ x.query),"
)  # fmt: skip
# Only the articles with every word (the GIN index finds them with all the words at once,
# usually a few), and their score for each word, looked up by article and word.
_HITS_OF_EVERY = (
    " candidates AS MATERIALIZED (SELECT rowid FROM article_search"
    " WHERE document @@ websearch_to_tsquery('kb_english', ?)),"
    " hits AS (SELECT t.rowid, " + _SCORE.format(rank="t.rank") +
    " FROM weighted x CROSS JOIN candidates c"
    " JOIN article_terms t ON t.lexeme = x.lexeme AND t.rowid = c.rowid"
    " UNION ALL SELECT s.rowid, " + _SCORE.format(rank=_TS_RANK) +
    " FROM weighted x CROSS JOIN candidates c"
    " JOIN article_search s ON s.rowid = c.rowid AND x.lexeme IS NULL AND s.document @@ x.query),"
)  # fmt: skip
# How many articles have each word, and how many there are: a word of one lexeme counted
# from its ranks (an index-only scan), a phrase by the articles the GIN index finds.
_COUNTED = (
    "SELECT t.word, CASE WHEN l.lexeme IS NULL"
    " THEN (SELECT count(*) FROM article_search WHERE document @@ q.query)"
    " ELSE (SELECT count(*) FROM article_terms WHERE lexeme = l.lexeme) END AS found,"
    " (SELECT count(*) FROM articles) AS total FROM unnest(?::text[]) AS t(word),"
    " LATERAL (SELECT websearch_to_tsquery('kb_english', t.word) AS query) q,"
    " LATERAL (SELECT " + _LEXEME + " AS lexeme) l"
)
_REVISION = "SELECT value FROM meta WHERE key='revision'"
_EVERY_WORD = " HAVING count(*) = (SELECT count(*) FROM weighted)"
# Words whose article counts a process keeps at most, before it starts counting afresh.
WORD_COUNTS_KEPT = 20_000


@dataclass
class _WordCounts:
    """How many articles have each word searched for, and how many articles there are, at
    one revision of the store."""

    revision: Any
    found: dict[str, int] = field(default_factory=dict)
    total: int = 0


class ArticleSearch(Database):
    """Ranked searches of the articles' title and text."""

    def search_articles(
        self,
        words: list[str],
        *,
        limit: int,
        products: list[str] | None = None,
        every_word: bool = False,
        exclude: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Articles ranked by BM25 over title (weighted double) and body, with a snippet.

        Articles with any of the words, or with all of them when `every_word`; only those that
        apply to one of `products` (names as stored) when given; none of `exclude` (ids
        already shown: no snippet is made for them). The words are quoted one by one, so
        nothing a user types is read as query syntax.
        """
        if not words:
            return []
        if self.is_postgres:
            return self._search_postgres(words, limit, products, every_word, exclude or [])
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
            [match, *(products or ()), limit + len(exclude or ())],
        ).fetchall()
        left_out = set(exclude or ())
        ranked = [(rowid, score) for rowid, score in ranked if str(rowid) not in left_out]
        ranked = ranked[:limit]
        if not ranked:
            return []
        # Snippets of the shown articles only, in one statement: SQLite looks each of them up
        # by its row, and a snippet reads its article's text again.
        shown = [rowid for rowid, _ in ranked]
        rows = {
            row["rowid"]: row
            for row in self._conn.execute(
                "SELECT article_search.rowid AS rowid, a.id AS article_id, a.title,"
                " snippet(article_search, 1, '**', '**', ' … ', 24) AS snippet"
                " FROM article_search JOIN articles a ON a.id = CAST(article_search.rowid AS TEXT)"
                f" WHERE article_search MATCH ? AND article_search.rowid IN ({placeholders(shown)})",
                [match, *shown],
            )
        }
        # An article deleted since it was ranked has no row, and is left out.
        return [
            {
                "article_id": rows[rowid]["article_id"],
                "title": rows[rowid]["title"],
                "snippet": rows[rowid]["snippet"],
                "score": score,
            }
            for rowid, score in ranked
            if rowid in rows
        ]

    def articles_ranked(self, words: list[str], limit: int) -> list[str]:
        """Ids of the articles best matching any of `words` by BM25 (title counted double)."""
        if not words:
            return []
        if self.is_postgres:
            ranked = _RANKED.format(hits=_HITS_OF_ANY, products="", every="")
            query = "WITH " + ranked + " SELECT rowid FROM ranked"
            return [str(row[0]) for row in self._rank_postgres(query, words, [limit], limit)]
        rows = self._conn.execute(
            "SELECT rowid FROM article_search WHERE article_search MATCH ?"
            " ORDER BY bm25(article_search, 2.0, 1.0) LIMIT ?",
            (_fts_query(words, " OR "), limit),
        )
        return [str(row[0]) for row in rows]

    def articles_with_words(self, words: list[str]) -> list[int]:
        """How many articles the full-text index finds each of `words` in (stemmed, as
        searches are)."""
        if self.is_postgres:
            # The counts a search of these words will rank with: counted once, kept.
            return self._word_counts(_quoted(words))[1]
        return [
            self._conn.execute(
                "SELECT count(*) FROM article_search WHERE article_search MATCH ?",
                (_fts_query([word], ""),),
            ).fetchone()[0]
            for word in words
        ]

    def _word_counts(self, quoted: list[str]) -> tuple[list[str], list[int], int]:
        """The words (as `_quoted` made them), how many articles have each, and how many
        articles there are: the parameters a PostgreSQL ranking starts with.

        The counts are kept until the store's revision moves (every write moves it), so a
        word is counted once however often it is searched for, and never out of date for
        longer than the write that changed it.
        """
        kept: _WordCounts | None = getattr(self, "_kept_counts", None)
        # The revision is read with the counts of the words not kept yet, in one round trip.
        missing = [w for w in dict.fromkeys(quoted) if kept is None or w not in kept.found]
        statements: list[tuple[str, Any]] = [(_REVISION, ())]
        if missing:
            statements.append((_COUNTED, (missing,)))
        revision_rows, *counted = self._read_together(statements)
        revision = revision_rows[0][0] if revision_rows else None
        # Bounded: every distinct word anyone searches for would otherwise stay.
        if kept is None or kept.revision != revision or len(kept.found) > WORD_COUNTS_KEPT:
            kept = self._kept_counts = _WordCounts(revision)
        for rows in counted:
            self._keep_counts(kept, rows)
        stale = [w for w in dict.fromkeys(quoted) if w not in kept.found]
        if stale:
            # The store moved on since these were counted: counted again (after the revision
            # was read, so never older than it).
            self._keep_counts(kept, self._conn.execute(_COUNTED, (stale,)))
        return quoted, [kept.found[word] for word in quoted], kept.total

    @staticmethod
    def _keep_counts(kept: _WordCounts, rows: Any) -> None:
        for word, found, total in rows:
            kept.found[word] = found
            kept.total = total

    def _search_postgres(
        self,
        words: list[str],
        limit: int,
        products: list[str] | None,
        every_word: bool,
        exclude: list[str],
    ) -> list[dict[str, Any]]:
        """`search_articles` on PostgreSQL: the best `limit` rows ranked first, and snippets
        made for those alone, from their text (service.storage.snippets)."""
        of_products = ""
        every: list[str] = []
        if every_word:
            # Only the articles with every word are ranked: the index finds them with all the
            # words at once, instead of ranking every article with any of them first.
            every = [" ".join(_quoted(words))]
        if products is not None:
            of_products += (
                " AND CAST(h.rowid AS TEXT) IN (SELECT article_id FROM article_products"
                f" WHERE product IN ({placeholders(products)}))"
            )
        if exclude:
            # Left out of the ranking, which weighs each article alone: the others rank as
            # they would with them.
            of_products += " AND CAST(h.rowid AS TEXT) <> ALL(?::text[])"
        ranked = _RANKED.format(
            hits=_HITS_OF_EVERY if every_word else _HITS_OF_ANY,
            products=of_products,
            every=_EVERY_WORD if every_word else "",
        )
        # The text comes back whole and the snippet is made from it here (service.storage.
        # snippets): `ts_headline` would stem every word of it inside the database.
        query = (
            f"WITH {ranked} SELECT a.id AS article_id, a.title, s.body, r.score"
            " FROM ranked r JOIN article_search s ON s.rowid = r.rowid"
            " JOIN articles a ON a.id = CAST(r.rowid AS TEXT)"
            " ORDER BY r.score DESC, r.rowid"
        )
        rows = self._rank_postgres(
            query,
            words,
            [*every, *(products or ()), *([list(exclude)] if exclude else []), limit],
            limit,
            every_word,
        )
        return [
            {
                "article_id": row["article_id"],
                "title": row["title"],
                "snippet": snippet(row["body"], words),
                "score": row["score"],
            }
            for row in rows
        ]

    def _rank_postgres(
        self, query: str, words: list[str], rest: list[Any], limit: int, every_word: bool = False
    ) -> list[Any]:
        """The rows of a `_RANKED` query of `words`, its other parameters `rest`."""
        quoted = _quoted(words)
        kept: _WordCounts | None = getattr(self, "_kept_counts", None)
        if kept is not None and all(word in kept.found for word in quoted):
            # Every word's count is kept: whether the store is still at their revision is
            # asked in the ranking's own round trip, and only when it has moved on are the
            # counts read again and the ranking done over.
            rows = self._rank_counted(query, quoted, kept, rest, limit, every_word, check=True)
            if rows is not None:
                return rows
        self._word_counts(quoted)
        return self._rank_counted(query, quoted, self._kept_counts, rest, limit, every_word)

    def _rank_counted(
        self,
        query: str,
        quoted: list[str],
        kept: _WordCounts,
        rest: list[Any],
        limit: int,
        every_word: bool,
        check: bool = False,
    ) -> list[Any] | None:
        """The ranking of `quoted` words with the counts `kept`; None when `check` is asked
        and the store's revision is no longer theirs.

        Words in half the articles or more weigh next to nothing, and ranking reads every
        article they are in: when `limit` articles have the other words, those are ranked
        alone.
        """
        found = [kept.found[word] for word in quoted]
        tries = []
        if not every_word:
            telling = [
                (w, n) for w, n in zip(quoted, found, strict=True) if not _floor(n, kept.total)
            ]
            if telling and len(telling) < len(quoted):
                tries.append(([w for w, _ in telling], [n for _, n in telling]))
        tries.append((quoted, found))
        rows: list[Any] = []
        for words, counts in tries:
            params = [words, counts, kept.total, *rest]
            if check:
                check = False
                revision, rows = self._read_together([(_REVISION, ()), (query, params)])
                if (revision[0][0] if revision else None) != kept.revision:
                    return None
            else:
                rows = self._conn.execute(query, params).fetchall()
            if len(rows) >= limit:
                break
        return rows


def _floor(found: int, total: int) -> bool:
    """Whether a word in `found` articles of `total` has the floor weight (as `_RANKED`
    works it out)."""
    return math.log((total - found + 0.5) / (found + 0.5)) <= 1e-6


# What the stored tsvector's text had turned into spaces (its column in schema.py): a word
# the same way, so that "copylog.tcf" is the phrase "copylog tcf" there, as FTS5 reads it.
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def _quoted(words: list[str]) -> list[str]:
    """Each word as a `websearch_to_tsquery` text that takes it literally: its letters and
    digits quoted, as a phrase when punctuation splits it."""
    return ['"' + _NOT_ALPHANUMERIC.sub(" ", w).strip() + '"' for w in words]


def _fts_query(words: list[str], joiner: str) -> str:
    """An FTS5 query of `words` taken literally, each quoted, joined by `joiner`."""
    return joiner.join('"' + w.replace('"', '""') + '"' for w in words)

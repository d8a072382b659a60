"""What the index is made from: issue texts, symptom lines, learned lines and line keys.

Reads for one article run on the thread's connection; reads of the whole store run on a
connection of their own, so that a rebuild streaming them never holds up this thread's other
statements.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from service.storage.connection import Database

# `{lines}`: the dialect's way of joining the conditions, one per line.
_ISSUE_TEXTS = (
    "SELECT i.id, i.article_id, i.title, i.description, a.title AS article_title,"
    " (SELECT {lines} FROM symptoms s"
    "   WHERE s.issue_id = i.id AND s.kind != 'log_line') AS conditions"
    " FROM issues i JOIN articles a ON a.id = i.article_id"
)
_SYMPTOM_LINES = "SELECT id, issue_id, article_id, text, log_files FROM symptoms"
# Learned symptoms are matched like curated ones; those of issues no longer in the store wait,
# unindexed, in case the issue comes back.
_LEARNED_LINES = (
    "SELECT l.id, l.issue_id, i.article_id, l.text, '[]' AS log_files"
    " FROM learned_symptoms l JOIN issues i ON i.id = l.issue_id"
)


class IndexSource(Database):
    """The rows the Whoosh index and the line index are built from, as plain dicts."""

    def _rows(self, sql: str, column: str, article_id: str | None) -> Iterator[dict[str, Any]]:
        if article_id is not None:
            for row in self._conn.execute(f"{sql} WHERE {column}=?", (article_id,)):
                yield dict(row)
            return
        for row in self.stream(sql):
            yield dict(row)

    def issue_texts(self, article_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Each issue (of one article, or all) with the prose a person might describe it by:
        id, article_id, title, description, article_title, conditions."""
        sql = _ISSUE_TEXTS.format(lines=self.dialect.lines.format("text"))
        return self._rows(sql, "i.article_id", article_id)

    def symptom_lines(self, article_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Each symptom (of one article, or all): id, issue_id, article_id, text, log_files."""
        return self._rows(_SYMPTOM_LINES, "article_id", article_id)

    def learned_lines(self, article_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Each learned symptom of an issue in the store, shaped as `symptom_lines` rows."""
        return self._rows(_LEARNED_LINES, "i.article_id", article_id)

    def iter_line_keys(
        self, article_ids: list[int] | None = None
    ) -> Iterator[tuple[int, array, list[int]]]:
        """(article id, its line keys, the issue number of each) for the given articles, or all."""
        if article_ids is None:
            rows: list[Any] | Iterator[Any] = self.stream(
                "SELECT article_id, keys, issue_numbers FROM line_keys"
            )
        else:
            rows = [
                row
                for article_id in article_ids
                for row in self._conn.execute(
                    "SELECT article_id, keys, issue_numbers FROM line_keys WHERE article_id=?",
                    (article_id,),
                )
            ]
        for article_id, blob, numbers in rows:
            keys = array("q")
            keys.frombytes(blob)
            issues = array("H")
            issues.frombytes(numbers)
            yield article_id, keys, issues.tolist()

"""The store: one SQLite file holding the articles, their records and what users taught.

`Store` is the one way in: its methods take and return plain values (dicts, lists, tuples,
strings, numbers), so a store of another kind could stand in for it.
"""

from __future__ import annotations

import secrets

from service.article_text import LINE_KEYS_FORMAT
from service.storage.articles import ArticleWrites
from service.storage.feedback import FeedbackTables
from service.storage.indexing import IndexSource
from service.storage.schema import (
    FEEDBACK_REVIEW_COLUMNS,
    LINES_SCHEMA,
    SCHEMA,
    SEARCH_SCHEMA,
    add_missing_columns,
)
from service.storage.search import ArticleSearch


class Store(ArticleWrites, FeedbackTables, ArticleSearch, IndexSource):
    """Access to one store file; one connection per thread."""

    def initialise(self) -> None:
        """Create the tables if they are missing and bring older ones up to date (idempotent)."""
        conn = self._conn
        conn.executescript(SCHEMA)
        conn.executescript(SEARCH_SCHEMA)
        conn.executescript(LINES_SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('revision', '0')")
        add_missing_columns(conn, "feedback", FEEDBACK_REVIEW_COLUMNS)
        conn.execute("CREATE INDEX IF NOT EXISTS feedback_status ON feedback(status, id)")
        # The key of the hashes that stand for clients (service.privacy.client_hash).
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('client_key', ?)",
            (secrets.token_hex(16),),
        )
        if self.get_meta("line_keys_format") != str(LINE_KEYS_FORMAT):
            self.rebuild_article_lines()

    def exists(self) -> bool:
        """Whether the file is there and holds a store."""
        if not self.path.exists():
            return False
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='articles'"
        ).fetchone()
        return row is not None

    def client_key(self) -> bytes:
        """The secret key of client hashes, made once per store."""
        return bytes.fromhex(self.get_meta("client_key") or "")

"""The store: the articles, their records and what users taught, in one SQLite file or one
PostgreSQL database.

`Store` is the one way in: its methods take and return plain values (dicts, lists, tuples,
strings, numbers), so a store of another kind could stand in for it.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from service.article_text import LINE_KEYS_FORMAT
from service.storage.articles import ArticleWrites
from service.storage.feedback import FeedbackTables
from service.storage.indexing import IndexSource
from service.storage.schema import (
    FEEDBACK_REVIEW_COLUMNS,
    LINES_SCHEMA,
    POSTGRES_MIGRATIONS,
    SCHEMA,
    SEARCH_SCHEMA,
    add_missing_columns,
)
from service.storage.search import ArticleSearch


class Store(ArticleWrites, FeedbackTables, ArticleSearch, IndexSource):
    """Access to one store: a SQLite file (one connection per thread) or a PostgreSQL
    database (a pool of connections per process)."""

    def initialise(self) -> None:
        """Create the tables if they are missing and bring older ones up to date (idempotent).

        On PostgreSQL: apply the migrations the database has not had, one node at a time.
        """
        conn = self._conn
        if self._postgres is not None:
            self._postgres.migrate(POSTGRES_MIGRATIONS)
        else:
            conn.executescript(SCHEMA)
            conn.executescript(SEARCH_SCHEMA)
            conn.executescript(LINES_SCHEMA)
            add_missing_columns(conn, "feedback", FEEDBACK_REVIEW_COLUMNS)
            conn.execute("CREATE INDEX IF NOT EXISTS feedback_status ON feedback(status, id)")
        conn.execute("INSERT INTO meta(key, value) VALUES ('revision', '0') ON CONFLICT DO NOTHING")
        # The key of the hashes that stand for clients (service.privacy.client_hash).
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('client_key', ?) ON CONFLICT DO NOTHING",
            (secrets.token_hex(16),),
        )
        if self.get_meta("line_keys_format") != str(LINE_KEYS_FORMAT):
            self.rebuild_article_lines()

    def exists(self) -> bool:
        """Whether the file (or database) is there and holds a store."""
        if self._postgres is not None:
            return self._postgres.has_table("articles")
        assert self.path is not None
        if not self.path.exists():
            return False
        row = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='articles'"
        ).fetchone()
        return row is not None

    def describe(self) -> str:
        """Where the store is, for people: the file, or the database without its password."""
        if self.url is None:
            return str(self.path)
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{parts.path}"

    def client_key(self) -> bytes:
        """The secret key of client hashes, made once per store."""
        return bytes.fromhex(self.get_meta("client_key") or "")

"""The activity database (`activity.sqlite3`): recent matches, match counts, content gaps.

A file of its own beside the store, so that recording a match never waits on an article write
and never moves the store's revision. With PostgreSQL, tables of their own in the store's
database (its writes touch no row an article write does), shared by every node. What is recorded, and when, is service/activity.py's
business; this module only reads and writes the rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.storage.connection import Database, StorageError, open_database, placeholders
from service.storage.schema import (
    ACTIVITY_GAP_COLUMNS,
    ACTIVITY_SCHEMA,
    POSTGRES_MIGRATIONS,
    add_missing_columns,
)

# Lines per statement when their counts are looked up together.
LINES_CHUNK = 500


@dataclass
class MatchRecord:
    """One answered paste, ready to write: only normalised lines, the issues already as JSON."""

    request_id: str
    stamp: str
    issues: str
    unmatched: list[str]
    top: tuple[str, str] | None
    gaps: list[str]
    client: str | None


class ActivityDatabase(Database):
    """The rows of the activity file, one connection per thread."""

    def __init__(self, location: str | Path) -> None:
        # A short timeout: a writer that cannot get the lock soon tries again next time.
        super().__init__(location, timeout=0.5)
        if self._postgres is not None:
            # The store's migrations make these tables; a log opened on its own makes sure.
            self._postgres.migrate(POSTGRES_MIGRATIONS)

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        conn = open_database(self.path, timeout=self._timeout)
        conn.executescript(ACTIVITY_SCHEMA)
        add_missing_columns(conn, "unmatched_lines", ACTIVITY_GAP_COLUMNS)
        return conn

    # -- writing ------------------------------------------------------------------------------

    def write(self, records: list[MatchRecord]) -> None:
        """Write answered pastes in one transaction; StorageError when the file is busy or
        cannot be written (nothing is written then)."""
        try:
            conn = self._conn
            with self.transaction():
                for record in records:
                    self._write(conn, record)
        except StorageError:
            raise
        except Exception as exc:
            # The database's own errors (sqlite3's, psycopg's): busy, locked, unwritable.
            if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg"):
                raise StorageError(str(exc)) from exc
            raise

    def _write(self, conn: Any, record: MatchRecord) -> None:
        stamp = record.stamp
        # Request ids are made by the server: one is never written twice, and if it were, the
        # first answer's record would stand.
        conn.execute(
            "INSERT INTO matches(request_id, created_at, evidence, unmatched)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (record.request_id, stamp, record.issues, json.dumps(record.unmatched)),
        )
        conn.executemany(
            "INSERT INTO line_seen VALUES (?, 1, ?) ON CONFLICT(signature)"
            " DO UPDATE SET pastes = line_seen.pastes + 1, last_seen = excluded.last_seen",
            [(line, stamp) for line in record.unmatched],
        )
        self._count(conn, "pastes")
        if record.top is not None:
            conn.execute(
                "INSERT INTO issue_matches VALUES (?, ?, 1, ?, ?)"
                " ON CONFLICT(issue_id) DO UPDATE SET count = issue_matches.count + 1,"
                " last_matched = excluded.last_matched",
                (*record.top, stamp, stamp),
            )
        else:
            self._count(conn, "pastes_unmatched")
            conn.executemany(
                "INSERT INTO unmatched_lines(signature, count, first_seen, last_seen)"
                " VALUES (?, 1, ?, ?) ON CONFLICT(signature) DO UPDATE SET count = unmatched_lines.count + 1,"
                " last_seen = excluded.last_seen",
                [(g, stamp, stamp) for g in record.gaps],
            )
            if record.client is not None:
                for line in record.gaps:
                    added = conn.execute(
                        "INSERT INTO gap_clients VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (line, record.client),
                    ).rowcount
                    if added:
                        conn.execute(
                            "UPDATE unmatched_lines SET clients = clients + 1 WHERE signature=?",
                            (line,),
                        )

    @staticmethod
    def _count(conn: Any, key: str) -> None:
        conn.execute(
            "INSERT INTO totals VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = totals.value + 1",
            (key,),
        )

    def prune(self, cutoff: str) -> int:
        """Forget matches (and line counts) last seen before `cutoff`; returns matches dropped."""
        self._conn.execute("DELETE FROM line_seen WHERE last_seen < ?", (cutoff,))
        return self._conn.execute("DELETE FROM matches WHERE created_at < ?", (cutoff,)).rowcount

    # -- reading ------------------------------------------------------------------------------

    def match(self, request_id: str) -> dict[str, Any] | None:
        """The recorded answer of one request: created_at, issues (with their lines), unmatched."""
        row = self._conn.execute(
            "SELECT created_at, evidence, unmatched FROM matches WHERE request_id=?", (request_id,)
        ).fetchone()
        if row is None:
            return None
        return {
            "created_at": row["created_at"],
            "issues": json.loads(row["evidence"]),
            "unmatched": json.loads(row["unmatched"]),
        }

    def totals(self) -> dict[str, int]:
        """Every counter by name (pastes, pastes_unmatched)."""
        return {
            row["key"]: row["value"] for row in self._conn.execute("SELECT key, value FROM totals")
        }

    def top_issues(self, limit: int) -> list[dict[str, Any]]:
        """Issues most often matched first, with their counts and when."""
        rows = self._conn.execute(
            "SELECT issue_id, article_id, count, first_matched, last_matched FROM issue_matches"
            " ORDER BY count DESC, last_matched DESC LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]

    def content_gaps(self, limit: int, min_clients: int) -> list[dict[str, Any]]:
        """The most frequent unmatched lines pasted by at least `min_clients` clients."""
        rows = self._conn.execute(
            "SELECT signature AS line, count, clients, first_seen, last_seen FROM unmatched_lines"
            " WHERE clients >= ? ORDER BY count DESC, first_seen LIMIT ?",
            (min_clients, limit),
        )
        return [dict(row) for row in rows]

    def pastes_saying(self, lines: list[str]) -> dict[str, int]:
        """How many recent pastes had each of these lines among their unmatched lines."""
        found: dict[str, int] = {}
        for start in range(0, len(lines), LINES_CHUNK):
            chunk = lines[start : start + LINES_CHUNK]
            rows = self._conn.execute(
                f"SELECT signature, pastes FROM line_seen WHERE signature IN ({placeholders(chunk)})",
                chunk,
            )
            found.update((row["signature"], row["pastes"]) for row in rows)
        return found

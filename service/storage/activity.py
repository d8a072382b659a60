"""The activity database (`activity.sqlite3`): recent matches, match counts, content gaps.

A file of its own beside the store, so that recording a match never waits on an article write
and never moves the store's revision. With PostgreSQL, tables of their own in the store's
database (its writes touch no row an article write does), shared by every node. What is recorded, and when, is service/activity.py's
business; this module only reads and writes the rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
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


@dataclass
class _Counts:
    """What a batch of answered pastes adds to each table: counts summed per row, with the
    first and last time each row was seen in the batch."""

    matches: list[tuple[str, str, str, str]] = field(default_factory=list)
    # line -> (pastes, first seen, last seen)
    lines_seen: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: {"pastes": 0, "pastes_unmatched": 0})
    # issue id -> (article id, matches, first, last)
    issues: dict[str, tuple[str, int, str, str]] = field(default_factory=dict)
    # content-gap line -> (pastes, first seen, last seen)
    gaps: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    gap_clients: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, records: list[MatchRecord]) -> _Counts:
        counts = cls()
        for record in records:
            stamp = record.stamp
            counts.matches.append(
                (record.request_id, stamp, record.issues, json.dumps(record.unmatched))
            )
            for line in record.unmatched:
                counts.lines_seen[line] = _counted(counts.lines_seen.get(line), stamp)
            counts.totals["pastes"] += 1
            if record.top is not None:
                issue_id, article_id = record.top
                kept = counts.issues.get(issue_id)
                if kept is None:
                    counts.issues[issue_id] = (article_id, 1, stamp, stamp)
                else:
                    counts.issues[issue_id] = (kept[0], kept[1] + 1, kept[2], stamp)
                continue
            counts.totals["pastes_unmatched"] += 1
            for line in record.gaps:
                counts.gaps[line] = _counted(counts.gaps.get(line), stamp)
                if record.client is not None:
                    counts.gap_clients.add((line, record.client))
        return counts


def _counted(kept: tuple[int, str, str] | None, stamp: str) -> tuple[int, str, str]:
    """A row's (count, first, last) once seen again at `stamp`."""
    return (1, stamp, stamp) if kept is None else (kept[0] + 1, kept[1], stamp)


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
            with self.transaction():
                self._write(self._conn, _Counts.of(records))
        except StorageError:
            raise
        except Exception as exc:
            # The database's own errors (sqlite3's, psycopg's): busy, locked, unwritable.
            if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg"):
                raise StorageError(str(exc)) from exc
            raise

    def _write(self, conn: Any, counts: _Counts) -> None:
        # One statement per table for all the records, and rows in key order: nodes writing at
        # once lock them in the same order, so they wait for each other rather than deadlock.
        # Request ids are made by the server: one is never written twice, and if it were, the
        # first answer's record would stand.
        self._insert_rows(
            conn,
            "matches(request_id, created_at, evidence, unmatched)",
            ("text", "text", "text", "text"),
            "ON CONFLICT DO NOTHING",
            counts.matches,
        )
        self._insert_rows(
            conn,
            "line_seen",
            ("text", "integer", "text"),
            "ON CONFLICT(signature) DO UPDATE SET pastes = line_seen.pastes + excluded.pastes,"
            " last_seen = excluded.last_seen",
            sorted((line, n, last) for line, (n, _, last) in counts.lines_seen.items()),
        )
        self._insert_rows(
            conn,
            "totals",
            ("text", "bigint"),
            "ON CONFLICT(key) DO UPDATE SET value = totals.value + excluded.value",
            sorted((key, n) for key, n in counts.totals.items() if n),
        )
        self._insert_rows(
            conn,
            "issue_matches",
            ("text", "text", "integer", "text", "text"),
            "ON CONFLICT(issue_id) DO UPDATE SET count = issue_matches.count + excluded.count,"
            " last_matched = excluded.last_matched",
            sorted(
                (issue_id, article_id, n, first, last)
                for issue_id, (article_id, n, first, last) in counts.issues.items()
            ),
        )
        self._insert_rows(
            conn,
            "unmatched_lines(signature, count, first_seen, last_seen)",
            ("text", "integer", "text", "text"),
            "ON CONFLICT(signature) DO UPDATE SET"
            " count = unmatched_lines.count + excluded.count, last_seen = excluded.last_seen",
            sorted((line, n, first, last) for line, (n, first, last) in counts.gaps.items()),
        )
        for line, client in sorted(counts.gap_clients):
            added = conn.execute(
                "INSERT INTO gap_clients VALUES (?, ?) ON CONFLICT DO NOTHING", (line, client)
            ).rowcount
            if added:
                conn.execute(
                    "UPDATE unmatched_lines SET clients = clients + 1 WHERE signature=?", (line,)
                )

    def _insert_rows(
        self, conn: Any, into: str, types: tuple[str, ...], conflict: str, rows: list[tuple]
    ) -> None:
        """INSERT `rows` `into` a table (its name and columns), in their order, `conflict`
        saying what a row already there becomes.

        SQLite runs the statement once per row in its own loop. PostgreSQL is sent the rows as
        one array per column (of the given `types`), in one statement: a statement per row
        would cost the app as much Python per row as the paste cost to match, and the server
        an execution per row; a 200-line paste adds a row per line it did not recognise.
        """
        if not rows:
            return
        if self.is_postgres:
            arrays = ", ".join(f"?::{kind}[]" for kind in types)
            conn.execute(
                f"INSERT INTO {into} SELECT * FROM unnest({arrays}) ORDER BY 1 {conflict}",
                [list(column) for column in zip(*rows, strict=True)],
            )
        else:
            marks = ", ".join("?" * len(types))
            conn.executemany(f"INSERT INTO {into} VALUES ({marks}) {conflict}", rows)

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

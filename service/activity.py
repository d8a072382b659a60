"""What the service saw: recent matches (for feedback by request id) and content-gap counts.

Kept in its own SQLite file beside the store, so recording a match never waits on an article
write or a bulk import, and never changes the store's revision. Only normalised lines are kept
(instance data such as paths, names and numbers is already replaced by placeholders), never the
raw paste. Recording is best effort: when the file is busy or unwritable the match is answered
anyway and the miss is counted.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service.learning import distinctive
from service.normalize import NormalizedLine
from service.store import open_database

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS matches (
    request_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    evidence TEXT NOT NULL,
    unmatched TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS matches_created ON matches(created_at);
CREATE TABLE IF NOT EXISTS issue_matches (
    issue_id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_matched TEXT NOT NULL,
    last_matched TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unmatched_lines (
    signature TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
CONFIDENT = 0.5
# A paste with nothing confident adds at most this many of its lines to the content gaps.
GAP_LINES_PER_PASTE = 50
GAP_MIN_TERMS = 2
PRUNE_EVERY = 500


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class ActivityLog:
    """The activity database under `<KB_HOME>/activity.sqlite3`; one connection per thread."""

    def __init__(self, path: str | Path, keep_days: int = 7) -> None:
        self.path = Path(path)
        self.keep_days = keep_days
        self._local = threading.local()
        self._writes = 0
        self.missed = 0

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # A short timeout: a match is never held up long for its own bookkeeping.
            conn = open_database(self.path, timeout=0.5)
            conn.executescript(SCHEMA)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- writing ----------------------------------------------------------------------------

    def record_match(
        self,
        request_id: str,
        matches: list[dict[str, Any]],
        evidence: dict[str, list[str]],
        unmatched: list[NormalizedLine],
    ) -> bool:
        """Remember one answered paste; False (and counted) when it could not be written."""
        now = _now()
        stamp = now.isoformat()
        confident = [m for m in matches if m["confidence"] >= CONFIDENT]
        try:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO matches(request_id, created_at, evidence, unmatched)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        request_id,
                        stamp,
                        json.dumps(
                            {
                                m["issue_id"]: {
                                    "article_id": m["article_id"],
                                    "lines": evidence.get(m["issue_id"], []),
                                }
                                for m in matches
                            }
                        ),
                        json.dumps(distinctive(unmatched)),
                    ),
                )
                self._count(conn, "pastes")
                if confident:
                    top = confident[0]
                    conn.execute(
                        "INSERT INTO issue_matches VALUES (?, ?, 1, ?, ?)"
                        " ON CONFLICT(issue_id) DO UPDATE SET count = count + 1,"
                        " last_matched = excluded.last_matched",
                        (top["issue_id"], top["article_id"], stamp, stamp),
                    )
                else:
                    self._count(conn, "pastes_unmatched")
                    gaps = [n.signature for n in unmatched if len(n.terms) >= GAP_MIN_TERMS]
                    conn.executemany(
                        "INSERT INTO unmatched_lines VALUES (?, 1, ?, ?)"
                        " ON CONFLICT(signature) DO UPDATE SET count = count + 1,"
                        " last_seen = excluded.last_seen",
                        [(g, stamp, stamp) for g in gaps[:GAP_LINES_PER_PASTE]],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._writes += 1
            if self._writes % PRUNE_EVERY == 0:
                self.prune(now)
            return True
        except sqlite3.Error as exc:
            self.missed += 1
            log.warning("match %s not recorded: %s", request_id, exc)
            return False

    @staticmethod
    def _count(conn: sqlite3.Connection, key: str) -> None:
        conn.execute(
            "INSERT INTO totals VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1",
            (key,),
        )

    def prune(self, now: datetime | None = None) -> int:
        """Forget matches older than `keep_days`: feedback by request id is for recent answers."""
        cutoff = ((now or _now()) - timedelta(days=self.keep_days)).isoformat()
        return self.conn.execute("DELETE FROM matches WHERE created_at < ?", (cutoff,)).rowcount

    # -- reading ----------------------------------------------------------------------------

    def find_match(self, request_id: str) -> dict[str, Any] | None:
        """The recorded answer of one request: issues with their lines, and unmatched lines."""
        row = self.conn.execute(
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
        rows = self.conn.execute("SELECT key, value FROM totals")
        values = {row["key"]: row["value"] for row in rows}
        return {
            "pastes": values.get("pastes", 0),
            "pastes_unmatched": values.get("pastes_unmatched", 0),
        }

    def top_issues(self, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT issue_id, article_id, count, first_matched, last_matched FROM issue_matches"
            " ORDER BY count DESC, last_matched DESC LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]

    def content_gaps(self, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT signature AS line, count, first_seen, last_seen FROM unmatched_lines"
            " ORDER BY count DESC, first_seen LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]

"""What the service saw: recent matches (for feedback by request id) and content-gap counts.

Kept in its own SQLite file beside the store, so recording a match never waits on an article
write or a bulk import, and never changes the store's revision. Only normalised lines are kept
(instance data such as paths, names and numbers is already replaced by placeholders), never the
raw paste. Recording is best effort: requests only queue their record, and when the file is busy
or unwritable the records are dropped and counted, never the answer.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service.learning import distinctive
from service.matching.rank import CONFIDENT
from service.normalize import NormalizedLine
from service.privacy import is_private, scrub
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
-- Distinct clients (keyed hashes, service.privacy) that pasted a content-gap line.
CREATE TABLE IF NOT EXISTS gap_clients (
    signature TEXT NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (signature, client)
) WITHOUT ROWID;
-- How many recent pastes had each distinctive unmatched line: feedback never learns a line
-- that is common to logs.
CREATE TABLE IF NOT EXISTS line_seen (
    signature TEXT PRIMARY KEY,
    pastes INTEGER NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS line_seen_last ON line_seen(last_seen);
"""
# A paste with nothing confident adds at most this many of its lines to the content gaps.
GAP_LINES_PER_PASTE = 50
GAP_MIN_TERMS = 2
PRUNE_EVERY = 500
FLUSH_SECONDS = 0.25


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _gap_lines(unmatched: list[NormalizedLine]) -> list[str]:
    """The lines of an unanswered paste kept as content gaps: the first few that say something,
    masked (only those kept are masked: a paste may have thousands)."""
    kept = dict.fromkeys(n.signature for n in unmatched if len(n.terms) >= GAP_MIN_TERMS)
    return list(dict.fromkeys(scrub(s) for s in list(kept)[:GAP_LINES_PER_PASTE]))


@dataclass
class _Record:
    """One answered paste, ready to write: only normalised lines, already as JSON."""

    request_id: str
    stamp: str
    issues: str
    unmatched: list[str]
    top: tuple[str, str] | None
    gaps: list[str]
    client: str | None


class ActivityLog:
    """The activity database under `<KB_HOME>/activity.sqlite3`.

    Requests only queue their record; a thread of each worker writes the queue in one
    transaction every `FLUSH_SECONDS`, so three workers answering at once never queue on the
    database lock. What a crash can lose is the last fraction of a second of statistics.
    """

    def __init__(self, path: str | Path, keep_days: int = 7) -> None:
        self.path = Path(path)
        self.keep_days = keep_days
        self._local = threading.local()
        self._pending: list[_Record] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # One writing thread per process: gunicorn forks workers from a preloaded master.
        self._writer_pid: int | None = None
        self._writes = 0
        self.missed = 0

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # A short timeout: a writer that cannot get the lock soon tries again next time.
            conn = open_database(self.path, timeout=0.5)
            conn.executescript(SCHEMA)
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(unmatched_lines)")}
            if "clients" not in columns:
                # Logs made before clients were counted: their gaps count as seen by none.
                conn.execute(
                    "ALTER TABLE unmatched_lines ADD COLUMN clients INTEGER NOT NULL DEFAULT 0"
                )
            self._local.conn = conn
        return conn

    def close(self) -> None:
        self.flush()
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
        client: str | None = None,
    ) -> None:
        """Queue one answered paste for writing; never raises, never waits on the database.

        Only normalised lines are kept, with user and machine names masked (service.privacy);
        lines that would still name someone are not kept for learning at all. `client` is a
        keyed hash of the client's address, counted, never shown.
        """
        confident = [m for m in matches if m["confidence"] >= CONFIDENT]
        record = _Record(
            request_id=request_id,
            stamp=_now().isoformat(),
            issues=json.dumps(
                {
                    m["issue_id"]: {
                        "article_id": m["article_id"],
                        "lines": [scrub(s) for s in evidence.get(m["issue_id"], [])],
                    }
                    for m in matches
                }
            ),
            unmatched=[s for s in distinctive(unmatched) if not is_private(s)],
            top=(confident[0]["issue_id"], confident[0]["article_id"]) if confident else None,
            gaps=[] if confident else _gap_lines(unmatched),
            client=client,
        )
        with self._pending_lock:
            self._pending.append(record)
            if self._writer_pid != os.getpid():
                self._writer_pid = os.getpid()
                threading.Thread(target=self._write_forever, name="activity", daemon=True).start()
                atexit.register(self.flush)

    def _write_forever(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            self.flush()

    def flush(self) -> int:
        """Write what is queued, in one transaction; returns how many records were written.

        A flush waits for one already writing, so a reader that flushes first reads every
        record queued before it, including those the writing thread had just taken.
        """
        with self._flush_lock:
            return self._flush()

    def _flush(self) -> int:
        with self._pending_lock:
            records, self._pending = self._pending, []
        if not records:
            return 0
        try:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                for record in records:
                    self._write(conn, record)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.missed += len(records)
            log.warning("%d match record(s) not written: %s", len(records), exc)
            return 0
        self._writes += len(records)
        if self._writes >= PRUNE_EVERY:
            self._writes = 0
            self.prune()
        return len(records)

    def _write(self, conn: sqlite3.Connection, record: _Record) -> None:
        stamp = record.stamp
        # Request ids are made by the server: one is never written twice, and if it were, the
        # first answer's record would stand.
        conn.execute(
            "INSERT OR IGNORE INTO matches(request_id, created_at, evidence, unmatched)"
            " VALUES (?, ?, ?, ?)",
            (record.request_id, stamp, record.issues, json.dumps(record.unmatched)),
        )
        conn.executemany(
            "INSERT INTO line_seen VALUES (?, 1, ?) ON CONFLICT(signature)"
            " DO UPDATE SET pastes = pastes + 1, last_seen = excluded.last_seen",
            [(line, stamp) for line in record.unmatched],
        )
        self._count(conn, "pastes")
        if record.top is not None:
            conn.execute(
                "INSERT INTO issue_matches VALUES (?, ?, 1, ?, ?)"
                " ON CONFLICT(issue_id) DO UPDATE SET count = count + 1,"
                " last_matched = excluded.last_matched",
                (*record.top, stamp, stamp),
            )
        else:
            self._count(conn, "pastes_unmatched")
            conn.executemany(
                "INSERT INTO unmatched_lines(signature, count, first_seen, last_seen)"
                " VALUES (?, 1, ?, ?) ON CONFLICT(signature) DO UPDATE SET count = count + 1,"
                " last_seen = excluded.last_seen",
                [(g, stamp, stamp) for g in record.gaps],
            )
            if record.client is not None:
                for line in record.gaps:
                    added = conn.execute(
                        "INSERT OR IGNORE INTO gap_clients VALUES (?, ?)", (line, record.client)
                    ).rowcount
                    if added:
                        conn.execute(
                            "UPDATE unmatched_lines SET clients = clients + 1 WHERE signature=?",
                            (line,),
                        )

    @staticmethod
    def _count(conn: sqlite3.Connection, key: str) -> None:
        conn.execute(
            "INSERT INTO totals VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET value = value + 1",
            (key,),
        )

    def prune(self, now: datetime | None = None) -> int:
        """Forget matches older than `keep_days`: feedback by request id is for recent answers."""
        cutoff = ((now or _now()) - timedelta(days=self.keep_days)).isoformat()
        self.conn.execute("DELETE FROM line_seen WHERE last_seen < ?", (cutoff,))
        return self.conn.execute("DELETE FROM matches WHERE created_at < ?", (cutoff,)).rowcount

    # -- reading ----------------------------------------------------------------------------

    def find_match(self, request_id: str) -> dict[str, Any] | None:
        """The recorded answer of one request: issues with their lines, and unmatched lines.

        A match answered a moment ago may still be queued, in this worker or in another: this
        worker's queue is written first, and another's is waited for, once.
        """
        self.flush()
        found = self._read_match(request_id)
        if found is None:
            time.sleep(FLUSH_SECONDS * 2)
            found = self._read_match(request_id)
        return found

    def _read_match(self, request_id: str) -> dict[str, Any] | None:
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
        self.flush()
        rows = self.conn.execute("SELECT key, value FROM totals")
        values = {row["key"]: row["value"] for row in rows}
        return {
            "pastes": values.get("pastes", 0),
            "pastes_unmatched": values.get("pastes_unmatched", 0),
        }

    def top_issues(self, limit: int) -> list[dict[str, Any]]:
        self.flush()
        rows = self.conn.execute(
            "SELECT issue_id, article_id, count, first_matched, last_matched FROM issue_matches"
            " ORDER BY count DESC, last_matched DESC LIMIT ?",
            (limit,),
        )
        return [dict(row) for row in rows]

    def content_gaps(self, limit: int, min_clients: int = 1) -> list[dict[str, Any]]:
        """The most frequent lines of pastes that matched nothing, each pasted by at least
        `min_clients` distinct clients: one client's pastes never reach the list."""
        self.flush()
        rows = self.conn.execute(
            "SELECT signature AS line, count, clients, first_seen, last_seen FROM unmatched_lines"
            " WHERE clients >= ? ORDER BY count DESC, first_seen LIMIT ?",
            (min_clients, limit),
        )
        return [dict(row) for row in rows]

    def pastes_saying(self, lines: list[str]) -> dict[str, int]:
        """How many recent pastes had each of these lines among their unmatched lines."""
        self.flush()
        found: dict[str, int] = {}
        for start in range(0, len(lines), 500):
            chunk = lines[start : start + 500]
            rows = self.conn.execute(
                "SELECT signature, pastes FROM line_seen WHERE signature IN ("
                + ",".join("?" * len(chunk))
                + ")",
                chunk,
            )
            found.update((row["signature"], row["pastes"]) for row in rows)
        return found

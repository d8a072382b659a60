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
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service.learning import distinctive
from service.matching.rank import CONFIDENT
from service.normalize import NormalizedLine
from service.privacy import is_private, scrub
from service.storage import ActivityDatabase, MatchRecord, StorageError

log = logging.getLogger(__name__)

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


class ActivityLog:
    """The activity database under `<KB_HOME>/activity.sqlite3`, or in the store's PostgreSQL
    database when one is configured.

    Requests only queue their record; a thread of each worker writes the queue in one
    transaction every `FLUSH_SECONDS`, so three workers answering at once never queue on the
    database lock. What a crash can lose is the last fraction of a second of statistics.
    """

    def __init__(self, location: str | Path, keep_days: int = 7) -> None:
        # A file (SQLite), or the store's PostgreSQL database by its URL.
        self.path = location if isinstance(location, str) else Path(location)
        self.keep_days = keep_days
        self.database = ActivityDatabase(location)
        self._pending: list[MatchRecord] = []
        self._pending_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # One writing thread per process: gunicorn forks workers from a preloaded master.
        self._writer_pid: int | None = None
        self._writes = 0
        self.missed = 0

    def close(self) -> None:
        self.flush()
        self.database.close()

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
        record = MatchRecord(
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
            self.database.write(records)
        except StorageError as exc:
            self.missed += len(records)
            log.warning("%d match record(s) not written: %s", len(records), exc)
            return 0
        self._writes += len(records)
        if self._writes >= PRUNE_EVERY:
            self._writes = 0
            self.prune()
        return len(records)

    def prune(self, now: datetime | None = None) -> int:
        """Forget matches older than `keep_days`: feedback by request id is for recent answers."""
        cutoff = ((now or _now()) - timedelta(days=self.keep_days)).isoformat()
        return self.database.prune(cutoff)

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
        return self.database.match(request_id)

    def totals(self) -> dict[str, int]:
        """Pastes answered, and those of them that matched nothing."""
        self.flush()
        values = self.database.totals()
        return {
            "pastes": values.get("pastes", 0),
            "pastes_unmatched": values.get("pastes_unmatched", 0),
        }

    def top_issues(self, limit: int) -> list[dict[str, Any]]:
        """The issues most often matched first with confidence, with their counts."""
        self.flush()
        return self.database.top_issues(limit)

    def content_gaps(self, limit: int, min_clients: int = 1) -> list[dict[str, Any]]:
        """The most frequent lines of pastes that matched nothing, each pasted by at least
        `min_clients` distinct clients: one client's pastes never reach the list."""
        self.flush()
        return self.database.content_gaps(limit, min_clients)

    def pastes_saying(self, lines: list[str]) -> dict[str, int]:
        """How many recent pastes had each of these lines among their unmatched lines."""
        self.flush()
        return self.database.pastes_saying(lines)

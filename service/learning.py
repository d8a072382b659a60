"""What users teach the matcher through feedback: verdicts, their review, learned evidence.

Every verdict is recorded, but none changes an answer on its own: the endpoint is anonymous,
and one request must not steer what everyone else gets. A verdict waits, `pending`, until a
token holder approves it (or rejects it), or, when the server is configured with a quorum,
until that many distinct clients have said the same of the same line.

An approved confirmation ("this issue helped") turns the paste's distinctive lines that matched
nothing into learned symptoms of that issue: indexed like curated symptoms but weighing less
(see ranking.LEARNED_FACTOR), stored in their own table and listed apart, so the curated records
are never changed and an author can remove what was learned. An approved "not helpful" verdict
records the lines that matched the issue; later answers lower the issue when they rest on the
same lines, by at most a capped amount and never out of the answer.

Every change here is one SQLite transaction that bumps the store's revision, so the index is
brought up to date (or repaired after a crash) exactly as for an article write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.normalize import NormalizedLine
from service.store import Store

# A line teaches something only when it says something: enough words beyond placeholders.
MIN_TERMS = 5
MIN_CHARS = 30
MAX_LEARNED_PER_FEEDBACK = 20
PENALTY_FACTOR = 0.5
# Verdicts counted against one line of one issue, at most: users' doubts reorder an answer,
# they do not overrule what an article says.
MAX_PENALTY_VERDICTS = 2
STATUSES = ("pending", "approved", "rejected")


class AlreadyReviewed(ValueError):
    """The verdict was approved or rejected before; `status` says which."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the feedback was {status} already")
        self.status = status


@dataclass
class FeedbackOutcome:
    """What one verdict, or its review, changed."""

    feedback: dict[str, Any]
    learned: list[dict[str, Any]] = field(default_factory=list)
    penalised_lines: int = 0


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def distinctive(lines: list[NormalizedLine]) -> list[str]:
    """Signatures of the lines worth learning: specific enough to point at one issue."""
    seen: dict[str, None] = {}
    for normal in lines:
        if len(normal.terms) >= MIN_TERMS and len(normal.signature) >= MIN_CHARS:
            seen.setdefault(normal.signature, None)
    return list(seen)[:MAX_LEARNED_PER_FEEDBACK]


def record_feedback(
    store: Store,
    *,
    issue_id: str,
    article_id: str,
    helpful: bool,
    evidence: list[str],
    lessons: list[str],
    request_id: str | None,
    comment: str | None,
    client: str | None,
    quorum: int = 0,
) -> FeedbackOutcome:
    """Record a verdict, pending review, in one transaction.

    `evidence` are the signatures of the paste's lines that matched the issue (what a "not
    helpful" verdict would lower); `lessons` the lines a confirmation would teach. With a
    `quorum` of two or more, a line that many distinct clients have given the same verdict on
    takes effect at once; the verdict itself stays pending for the rest of its lines.
    """
    now = _now()
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO feedback(created_at, issue_id, helpful, request_id, comment, evidence,"
            " lessons, client, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
            (
                now,
                issue_id,
                int(helpful),
                request_id,
                comment,
                json.dumps(evidence),
                json.dumps(lessons if helpful else []),
                client,
            ),
        )
        feedback_id = int(cursor.lastrowid or 0)
        outcome = FeedbackOutcome(_feedback_record(conn, feedback_id))
        if quorum >= 2 and client is not None:
            proposed = lessons if helpful else evidence
            agreed = [
                s for s in proposed if _clients_agreeing(conn, issue_id, helpful, s) >= quorum
            ]
            if agreed:
                _apply(conn, outcome, issue_id, article_id, helpful, agreed, feedback_id, now)
                if len(agreed) == len(proposed):
                    _set_status(conn, feedback_id, "approved", now)
                store.bump_revision(conn, article_id)
                outcome.feedback = _feedback_record(conn, feedback_id)
    return outcome


def review_feedback(store: Store, feedback_id: int, approve: bool) -> FeedbackOutcome | None:
    """Approve (apply) or reject a pending verdict; None when there is no such verdict.

    Raises AlreadyReviewed when it was approved or rejected before: a verdict is applied once.
    """
    now = _now()
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT f.*, i.article_id FROM feedback f LEFT JOIN issues i ON i.id = f.issue_id"
            " WHERE f.id=?",
            (feedback_id,),
        ).fetchone()
        if row is None:
            return None
        if row["status"] != "pending":
            raise AlreadyReviewed(row["status"])
        outcome = FeedbackOutcome({})
        if approve and row["article_id"] is not None:
            helpful = bool(row["helpful"])
            lines = json.loads(row["lessons"] if helpful else row["evidence"])
            issue_id, article_id = row["issue_id"], row["article_id"]
            if helpful:
                # A confirmation outweighs earlier doubts about the same lines.
                conn.executemany(
                    "DELETE FROM issue_penalties WHERE issue_id=? AND signature=?",
                    [(issue_id, s) for s in json.loads(row["evidence"])],
                )
            _apply(conn, outcome, issue_id, article_id, helpful, lines, feedback_id, now, True)
            store.bump_revision(conn, article_id)
        _set_status(conn, feedback_id, "approved" if approve else "rejected", now)
        outcome.feedback = _feedback_record(conn, feedback_id)
    return outcome


def pending_from(store: Store, client: str) -> int:
    """How many verdicts of one client wait for review."""
    row = store.conn.execute(
        "SELECT count(*) AS n FROM feedback WHERE status='pending' AND client=?", (client,)
    ).fetchone()
    return int(row["n"])


def pending_feedback(store: Store, limit: int, after: int = 0) -> list[dict[str, Any]]:
    """Verdicts waiting for review, oldest first, with the lines each would teach or lower."""
    rows = store.conn.execute(
        "SELECT * FROM feedback WHERE status='pending' AND id > ? ORDER BY id LIMIT ?",
        (after, limit),
    )
    return [_feedback_dict(row, with_lines=True) for row in rows]


def get_feedback(store: Store, feedback_id: int) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM feedback WHERE id=?", (feedback_id,)).fetchone()
    return _feedback_dict(row, with_lines=True) if row is not None else None


def _feedback_record(conn: Any, feedback_id: int) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM feedback WHERE id=?", (feedback_id,)).fetchone()
    return _feedback_dict(row)


def _feedback_dict(row: Any, with_lines: bool = False) -> dict[str, Any]:
    record = {
        "id": row["id"],
        "created_at": row["created_at"],
        "issue_id": row["issue_id"],
        "helpful": bool(row["helpful"]),
        "request_id": row["request_id"],
        "comment": row["comment"],
        "status": row["status"],
        "reviewed_at": row["reviewed_at"],
    }
    if with_lines:
        # What approving it would do: lines to learn for a confirmation, to lower for a doubt.
        record["lines"] = json.loads(row["lessons"] if row["helpful"] else row["evidence"])
    return record


def _set_status(conn: Any, feedback_id: int, status: str, now: str) -> None:
    conn.execute(
        "UPDATE feedback SET status=?, reviewed_at=? WHERE id=?", (status, now, feedback_id)
    )


def _clients_agreeing(conn: Any, issue_id: str, helpful: bool, signature: str) -> int:
    """Distinct clients whose verdict (not rejected) on this issue says the same of this line."""
    column = "lessons" if helpful else "evidence"
    row = conn.execute(
        f"SELECT count(DISTINCT f.client) AS n FROM feedback f, json_each(f.{column}) j"
        " WHERE f.issue_id=? AND f.helpful=? AND f.status != 'rejected'"
        " AND f.client IS NOT NULL AND j.value=?",
        (issue_id, int(helpful), signature),
    ).fetchone()
    return int(row["n"])


def _apply(
    conn: Any,
    outcome: FeedbackOutcome,
    issue_id: str,
    article_id: str,
    helpful: bool,
    lines: list[str],
    feedback_id: int,
    now: str,
    counts_as_verdict: bool = False,
) -> None:
    """Make lines take effect: learned for a confirmation, lowered for a doubt.

    An approved verdict counts once more against a line; a quorum reached makes the line count
    once, however many more clients agree later.
    """
    if helpful:
        outcome.learned += _learn(conn, issue_id, article_id, lines, feedback_id, now)
        return
    if counts_as_verdict:
        statement = (
            "INSERT INTO issue_penalties(issue_id, signature, verdicts, updated_at)"
            " VALUES (?, ?, 1, ?) ON CONFLICT(issue_id, signature)"
            " DO UPDATE SET verdicts = verdicts + 1, updated_at = excluded.updated_at"
        )
    else:
        statement = (
            "INSERT INTO issue_penalties(issue_id, signature, verdicts, updated_at)"
            " VALUES (?, ?, 1, ?) ON CONFLICT(issue_id, signature) DO NOTHING"
        )
    conn.executemany(statement, [(issue_id, s, now) for s in lines])
    outcome.penalised_lines += len(lines)


def _learn(
    conn: Any,
    issue_id: str,
    article_id: str,
    signatures: list[str],
    feedback_id: int,
    now: str,
) -> list[dict[str, Any]]:
    known = {
        row["text"]
        for row in conn.execute("SELECT text FROM learned_symptoms WHERE issue_id=?", (issue_id,))
    }
    # Ids count on from the highest one ever given, so a removed id is never reused.
    row = conn.execute(
        "SELECT max(CAST(substr(id, length(?) + 3) AS INTEGER)) AS n FROM learned_symptoms"
        " WHERE issue_id=?",
        (issue_id, issue_id),
    ).fetchone()
    number = row["n"] or 0
    learned = []
    for signature in signatures:
        if signature in known:
            continue
        number += 1
        record = {
            "id": f"{issue_id}-l{number:02d}",
            "issue_id": issue_id,
            "article_id": article_id,
            "text": signature,
            "feedback_id": feedback_id,
            "created_at": now,
        }
        conn.execute(
            "INSERT INTO learned_symptoms(id, issue_id, article_id, text, feedback_id, created_at)"
            " VALUES (:id, :issue_id, :article_id, :text, :feedback_id, :created_at)",
            record,
        )
        learned.append(record)
    return learned


def learned_symptoms(store: Store, issue_id: str) -> list[dict[str, Any]]:
    """The learned symptoms of one issue, oldest first."""
    rows = store.conn.execute(
        "SELECT id, issue_id, article_id, text, feedback_id, created_at FROM learned_symptoms"
        " WHERE issue_id=? ORDER BY created_at, id",
        (issue_id,),
    )
    return [dict(row) for row in rows]


def remove_learned(store: Store, issue_id: str, learned_id: str) -> str | None:
    """Forget one learned symptom; returns its article id, or None when there was none."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT article_id FROM learned_symptoms WHERE id=? AND issue_id=?",
            (learned_id, issue_id),
        ).fetchone()
        if row is not None:
            conn.execute("DELETE FROM learned_symptoms WHERE id=?", (learned_id,))
            store.bump_revision(conn, row["article_id"])
    return row["article_id"] if row else None


def penalties(store: Store, issue_id: str) -> dict[str, int]:
    """Signature -> number of "not helpful" verdicts against this issue on that line."""
    rows = store.conn.execute(
        "SELECT signature, verdicts FROM issue_penalties WHERE issue_id=?", (issue_id,)
    )
    return {row["signature"]: row["verdicts"] for row in rows}


def penalty_factor(verdicts: int) -> float:
    """How much of its score an issue keeps after this many verdicts on the same evidence."""
    return PENALTY_FACTOR ** min(verdicts, MAX_PENALTY_VERDICTS)


def feedback_counts(store: Store) -> dict[str, int]:
    row = store.conn.execute(
        "SELECT count(*) AS total, coalesce(sum(helpful), 0) AS helpful,"
        " coalesce(sum(status = 'pending'), 0) AS pending FROM feedback"
    ).fetchone()
    learned = store.conn.execute("SELECT count(*) AS n FROM learned_symptoms").fetchone()["n"]
    return {
        "total": row["total"],
        "helpful": row["helpful"],
        "not_helpful": row["total"] - row["helpful"],
        "pending": row["pending"],
        "learned_symptoms": learned,
    }


def learned_ids(store: Store) -> frozenset[str]:
    """Ids of every learned symptom: the ranker weighs their evidence less."""
    return frozenset(row["id"] for row in store.conn.execute("SELECT id FROM learned_symptoms"))

"""What users teach the matcher through feedback: learned evidence and penalties.

A confirmed match ("this issue helped") turns the paste's distinctive lines that matched nothing
into learned symptoms of that issue: indexed like curated symptoms, so the next paste with those
lines finds the issue, but stored in their own table and listed apart, so the curated records are
never changed and an author can remove what was learned. A "not helpful" verdict records the
lines that matched the issue; later answers halve that issue's score for each such verdict when
they rest on the same lines.

Every change here is one SQLite transaction that bumps the store's revision, so the index is
brought up to date (or repaired after a crash) exactly as for an article write.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.normalize import NormalizedLine
from service.store import Store

# A line teaches something only when it says something: enough words beyond placeholders.
MIN_TERMS = 3
MIN_CHARS = 16
MAX_LEARNED_PER_FEEDBACK = 20
PENALTY_FACTOR = 0.5
MAX_PENALTY_VERDICTS = 3


@dataclass
class FeedbackOutcome:
    """What one verdict changed."""

    feedback: dict[str, Any]
    learned: list[dict[str, Any]]
    penalised_lines: int


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
    unmatched: list[str],
    request_id: str | None,
    comment: str | None,
) -> FeedbackOutcome:
    """Store a verdict and apply it, in one transaction.

    `evidence` are the signatures of the paste's lines that matched the issue; `unmatched` the
    distinctive signatures of the lines that matched nothing.
    """
    now = _now()
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        cursor = conn.execute(
            "INSERT INTO feedback(created_at, issue_id, helpful, request_id, comment, evidence)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (now, issue_id, int(helpful), request_id, comment, json.dumps(evidence)),
        )
        feedback_id = cursor.lastrowid
        learned: list[dict[str, Any]] = []
        if helpful:
            # A confirmation outweighs earlier doubts about the same lines.
            conn.executemany(
                "DELETE FROM issue_penalties WHERE issue_id=? AND signature=?",
                [(issue_id, s) for s in evidence],
            )
            learned = _learn(conn, issue_id, article_id, unmatched, feedback_id, now)
        else:
            conn.executemany(
                "INSERT INTO issue_penalties(issue_id, signature, verdicts, updated_at)"
                " VALUES (?, ?, 1, ?) ON CONFLICT(issue_id, signature)"
                " DO UPDATE SET verdicts = verdicts + 1, updated_at = excluded.updated_at",
                [(issue_id, s, now) for s in evidence],
            )
        store.bump_revision(conn, article_id)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    feedback = {
        "id": feedback_id,
        "created_at": now,
        "issue_id": issue_id,
        "helpful": helpful,
        "request_id": request_id,
        "comment": comment,
    }
    return FeedbackOutcome(feedback, learned, 0 if helpful else len(evidence))


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
    conn = store.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT article_id FROM learned_symptoms WHERE id=? AND issue_id=?",
            (learned_id, issue_id),
        ).fetchone()
        if row is not None:
            conn.execute("DELETE FROM learned_symptoms WHERE id=?", (learned_id,))
            store.bump_revision(conn, row["article_id"])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
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
        "SELECT count(*) AS total, coalesce(sum(helpful), 0) AS helpful FROM feedback"
    ).fetchone()
    learned = store.conn.execute("SELECT count(*) AS n FROM learned_symptoms").fetchone()["n"]
    return {
        "total": row["total"],
        "helpful": row["helpful"],
        "not_helpful": row["total"] - row["helpful"],
        "learned_symptoms": learned,
    }

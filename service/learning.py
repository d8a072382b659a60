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

Every change here is one store transaction that counts as a revision of the issue's article,
handed back as the outcome's `write`, so the index follows it (or repairs after a crash)
exactly as it follows an article write (KnowledgeBase.after_write). The SQL is the store's
(service/storage/feedback.py); the rules are here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from service.normalize import NormalizedLine
from service.storage import Store, Write

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
    # The store write that made lines take effect; None when nothing took effect yet.
    write: Write | None = None


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
    with store.transaction():
        feedback_id = store.add_verdict(
            created_at=now,
            issue_id=issue_id,
            helpful=helpful,
            request_id=request_id,
            comment=comment,
            evidence=evidence,
            lessons=lessons if helpful else [],
            client=client,
        )
        outcome = FeedbackOutcome(_feedback_record(store, feedback_id))
        if quorum >= 2 and client is not None:
            proposed = lessons if helpful else evidence
            agreed = [s for s in proposed if store.clients_agreeing(issue_id, helpful, s) >= quorum]
            if agreed:
                _apply(store, outcome, issue_id, article_id, helpful, agreed, feedback_id, now)
                if len(agreed) == len(proposed):
                    store.set_verdict_status(feedback_id, "approved", now)
                outcome.write = _counted(store, article_id, helpful)
                outcome.feedback = _feedback_record(store, feedback_id)
    return outcome


def _counted(store: Store, article_id: str, helpful: bool) -> Write:
    """Count lines taking effect as a write of the issue's article (inside the transaction)."""
    revision = store.record_write(article_id)
    return Write(article_id, "learned" if helpful else "penalised", revision)


def review_feedback(store: Store, feedback_id: int, approve: bool) -> FeedbackOutcome | None:
    """Approve (apply) or reject a pending verdict; None when there is no such verdict.

    Raises AlreadyReviewed when it was approved or rejected before: a verdict is applied once.
    """
    now = _now()
    with store.transaction():
        verdict = store.verdict(feedback_id)
        if verdict is None:
            return None
        if verdict["status"] != "pending":
            raise AlreadyReviewed(verdict["status"])
        outcome = FeedbackOutcome({})
        if approve and verdict["article_id"] is not None:
            helpful = verdict["helpful"]
            lines = verdict["lessons"] if helpful else verdict["evidence"]
            issue_id, article_id = verdict["issue_id"], verdict["article_id"]
            if helpful:
                # A confirmation outweighs earlier doubts about the same lines.
                store.remove_penalties(issue_id, verdict["evidence"])
            _apply(store, outcome, issue_id, article_id, helpful, lines, feedback_id, now, True)
            outcome.write = _counted(store, article_id, helpful)
        store.set_verdict_status(feedback_id, "approved" if approve else "rejected", now)
        outcome.feedback = _feedback_record(store, feedback_id)
    return outcome


def pending_from(store: Store, client: str) -> int:
    """How many verdicts of one client wait for review."""
    return store.pending_count(client)


def pending_feedback(store: Store, limit: int, after: int = 0) -> list[dict[str, Any]]:
    """Verdicts waiting for review, oldest first, with the lines each would teach or lower."""
    return [_feedback_dict(v, with_lines=True) for v in store.pending_verdicts(limit, after)]


def get_feedback(store: Store, feedback_id: int) -> dict[str, Any] | None:
    """One verdict as the API shows it, with the lines it would teach or lower."""
    verdict = store.verdict(feedback_id)
    return _feedback_dict(verdict, with_lines=True) if verdict is not None else None


def _feedback_record(store: Store, feedback_id: int) -> dict[str, Any]:
    verdict = store.verdict(feedback_id)
    assert verdict is not None, "read inside the transaction that wrote it"
    return _feedback_dict(verdict)


def _feedback_dict(verdict: dict[str, Any], with_lines: bool = False) -> dict[str, Any]:
    record = {
        "id": verdict["id"],
        "created_at": verdict["created_at"],
        "issue_id": verdict["issue_id"],
        "helpful": verdict["helpful"],
        "request_id": verdict["request_id"],
        "comment": verdict["comment"],
        "status": verdict["status"],
        "reviewed_at": verdict["reviewed_at"],
    }
    if with_lines:
        # What approving it would do: lines to learn for a confirmation, to lower for a doubt.
        record["lines"] = verdict["lessons"] if verdict["helpful"] else verdict["evidence"]
    return record


def _apply(
    store: Store,
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
        outcome.learned += store.add_learned_symptoms(issue_id, article_id, lines, feedback_id, now)
        return
    store.add_penalties(issue_id, lines, now, once_more=counts_as_verdict)
    outcome.penalised_lines += len(lines)


def learned_symptoms(store: Store, issue_id: str) -> list[dict[str, Any]]:
    """The learned symptoms of one issue, oldest first."""
    return store.learned_symptoms(issue_id)


def learned_symptoms_of(store: Store, issue_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The learned symptoms of each of these issues that has any, oldest first, by issue id."""
    return store.learned_symptoms_of(issue_ids)


def remove_learned(store: Store, issue_id: str, learned_id: str) -> Write | None:
    """Forget one learned symptom; returns the write, or None when there was none."""
    return store.remove_learned_symptom(issue_id, learned_id)


def penalties(store: Store, issue_id: str) -> dict[str, int]:
    """Signature -> number of "not helpful" verdicts against this issue on that line."""
    return store.penalties(issue_id)


def penalty_factor(verdicts: int) -> float:
    """How much of its score an issue keeps after this many verdicts on the same evidence."""
    return PENALTY_FACTOR ** min(verdicts, MAX_PENALTY_VERDICTS)


def feedback_counts(store: Store) -> dict[str, int]:
    """Verdicts by kind and learned symptoms, for /v1/stats."""
    counts = store.verdict_counts()
    return {
        "total": counts["total"],
        "helpful": counts["helpful"],
        "not_helpful": counts["total"] - counts["helpful"],
        "pending": counts["pending"],
        "learned_symptoms": counts["learned_symptoms"],
    }


def learned_ids(store: Store) -> frozenset[str]:
    """Ids of every learned symptom: the ranker weighs their evidence less."""
    return store.learned_ids()

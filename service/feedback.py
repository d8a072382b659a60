"""A verdict on a match: find the lines behind it, record it for review, apply it once approved."""

from __future__ import annotations

from service import learning
from service.activity import ActivityLog
from service.article_text import line_key
from service.kb import KnowledgeBase
from service.learning import FeedbackOutcome, distinctive
from service.matching import analyse_log
from service.privacy import is_private, scrub

# A line this many articles say is a format's or a product's, not one problem's.
COMMON_IN_ARTICLES = 2
# A line seen in this many recent pastes (any answer) is common to logs, not to one problem.
COMMON_IN_PASTES = 5


# Verdicts one client may have waiting for review: enough for any helpdesk's day, too few to
# bury the reviewers or fill the disk.
MAX_PENDING_PER_CLIENT = 200
# What a client over that number is told to wait: reviews happen by hand, hours apart.
PENDING_RETRY_SECONDS = 3600


class TooManyPending(RuntimeError):
    """This client's verdicts already wait for review in numbers; it must wait too."""


class FeedbackRefused(LookupError):
    """The verdict names something unknown; `field` says which part of the request."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def give_feedback(
    kb: KnowledgeBase,
    activity: ActivityLog | None,
    *,
    issue_id: str,
    helpful: bool,
    request_id: str | None = None,
    log: str | None = None,
    comment: str | None = None,
    client: str | None = None,
) -> FeedbackOutcome:
    """Record whether `issue_id` was the answer to a paste, named by request id or sent again.

    The verdict waits for review (see service.learning); with a quorum configured, lines that
    enough distinct clients agree on take effect at once, and the index follows before this
    returns, so the caller's next match already reflects them.
    """
    issue = kb.store.get_issue(issue_id)
    if issue is None:
        raise FeedbackRefused("issue_id", f"No issue has the id {issue_id!r}.")
    if client is not None and learning.pending_from(kb.store, client) >= MAX_PENDING_PER_CLIENT:
        raise TooManyPending(
            f"{MAX_PENDING_PER_CLIENT} verdicts from this client already wait for review; "
            "send more once they have been reviewed."
        )
    if request_id is not None:
        if activity is None:
            raise FeedbackRefused(
                "request_id",
                "This server does not record matches (KB_RECORD_ACTIVITY=0), so it cannot find "
                "one by request id. Send the paste as `log` instead.",
            )
        recorded = activity.find_match(request_id)
        if recorded is None:
            raise FeedbackRefused(
                "request_id",
                f"No recent match has the request id {request_id!r} (matches are kept for "
                f"{activity.keep_days} days). Send the paste as `log` instead.",
            )
        evidence = recorded["issues"].get(issue_id, {}).get("lines", [])
        unmatched = recorded["unmatched"]
    else:
        analysis = analyse_log(kb, log or "", limit=kb.config.max_match_limit)
        evidence = [scrub(s) for s in analysis.evidence.get(issue_id, [])]
        unmatched = distinctive(analysis.unmatched)
    outcome = learning.record_feedback(
        kb.store,
        issue_id=issue_id,
        article_id=issue["article_id"],
        helpful=helpful,
        evidence=evidence,
        lessons=learnable(kb, activity, unmatched),
        request_id=request_id,
        comment=comment,
        client=client,
        quorum=kb.config.feedback_quorum,
    )
    # Lines that took effect at once (a quorum) are a store write; the index follows it.
    kb.after_write([outcome.write])
    return outcome


def learnable(kb: KnowledgeBase, activity: ActivityLog | None, lines: list[str]) -> list[str]:
    """The lines a confirmation may teach: specific to one problem and to nobody in particular.

    Never a line that names a secret, a user or a machine, a line several articles say, or a line that many recent pastes had: lines common
    to a log format would otherwise pull every paste of that format to the taught issue.
    """
    candidates = [s for s in lines if not is_private(s)]
    if not candidates:
        return []
    said = kb.index.articles_saying(line_key(s) for s in candidates)
    candidates = [s for s in candidates if said.get(line_key(s), (0, []))[0] < COMMON_IN_ARTICLES]
    if activity is not None and candidates:
        seen = activity.pastes_saying(candidates)
        candidates = [s for s in candidates if seen.get(s, 0) < COMMON_IN_PASTES]
    return candidates


def review(kb: KnowledgeBase, feedback_id: int, approve: bool) -> FeedbackOutcome | None:
    """Approve (apply) or reject a pending verdict; None when there is no such verdict.

    Raises learning.AlreadyReviewed for a verdict reviewed before, and FeedbackRefused when
    approving a verdict on an issue that is no longer in the store.
    """
    record = learning.get_feedback(kb.store, feedback_id)
    if record is None:
        return None
    issue = kb.store.get_issue(record["issue_id"])
    if approve and issue is None:
        raise FeedbackRefused(
            "issue_id",
            f"Issue {record['issue_id']!r} is no longer in the store, so nothing can be learned "
            "for it. Reject the verdict instead.",
        )
    outcome = learning.review_feedback(kb.store, feedback_id, approve)
    if outcome is not None:
        kb.after_write([outcome.write])
    return outcome


def forget_learned(kb: KnowledgeBase, issue_id: str, learned_id: str) -> bool:
    """Remove one learned symptom and drop it from the index; False when it did not exist."""
    write = learning.remove_learned(kb.store, issue_id, learned_id)
    kb.after_write([write])
    return write is not None

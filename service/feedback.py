"""A verdict on a match, applied: find the lines behind it, store it, re-index what it taught."""

from __future__ import annotations

from service import learning
from service.activity import ActivityLog
from service.kb import KnowledgeBase
from service.learning import FeedbackOutcome, distinctive
from service.matching import analyse_log


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
) -> FeedbackOutcome:
    """Record whether `issue_id` was the answer to a paste, named by request id or sent again.

    A confirmation teaches the issue the paste's distinctive unmatched lines; a rejection
    lowers the issue for the lines that matched it. The index is updated before returning, so
    the caller's next match already reflects the verdict.
    """
    issue = kb.store.get_issue(issue_id)
    if issue is None:
        raise FeedbackRefused("issue_id", f"No issue has the id {issue_id!r}.")
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
        evidence = analysis.evidence.get(issue_id, [])
        unmatched = distinctive(analysis.unmatched)
    outcome = learning.record_feedback(
        kb.store,
        issue_id=issue_id,
        article_id=issue["article_id"],
        helpful=helpful,
        evidence=evidence,
        unmatched=unmatched,
        request_id=request_id,
        comment=comment,
    )
    # Every store write moves the revision; the index follows it, as for an article write.
    kb.changed()
    kb.index.update_articles(kb.store, [issue["article_id"]])
    return outcome


def forget_learned(kb: KnowledgeBase, issue_id: str, learned_id: str) -> bool:
    """Remove one learned symptom and drop it from the index; False when it did not exist."""
    article_id = learning.remove_learned(kb.store, issue_id, learned_id)
    if article_id is None:
        return False
    kb.changed()
    kb.index.update_articles(kb.store, [article_id])
    return True

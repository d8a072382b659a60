"""The store's revision and its write log: which article each recent write changed.

Every write bumps the revision inside its own transaction and hands the new number back to
its caller, which tells the index exactly which writes it has indexed (service/kb.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.storage.connection import Database

# Revisions the write log keeps; a process whose caches are older than that starts them over.
WRITE_LOG_KEEP = 10_000


@dataclass(frozen=True)
class Write:
    """What one write did to one article's data.

    `outcome` says what happened (created, updated, deleted, learned, unlearned, penalised;
    kept or unchanged when nothing was written); `revision` is the store revision the write
    was counted as, None when nothing was written.
    """

    article_id: str
    outcome: str
    revision: int | None = None

    @property
    def written(self) -> bool:
        """Whether the store changed (and the index has something to follow)."""
        return self.revision is not None


class RevisionLog(Database):
    """The revision counter and the log of which article each revision wrote."""

    def revision(self) -> int:
        """A counter bumped by every write; other processes compare it to see a change."""
        row = self._conn.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        return int(row["value"]) if row else 0

    def record_write(self, article_id: str) -> int:
        """Count a write to `article_id`, inside its transaction; returns its revision.

        The index needs each write's own revision, not the store's current one, which may
        already include other processes' writes that are not indexed yet.
        """
        conn = self._conn
        # One counter row, updated in the writer's transaction: on PostgreSQL its row lock makes
        # writers of every node take revisions one after another and commit them in that
        # order, with no revision skipped by a rollback. A follower that has seen revision n
        # has then seen every write up to n; a sequence's numbers would be neither in commit
        # order nor free of gaps.
        revision = int(
            conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='revision'"
                " RETURNING value"
            ).fetchone()[0]
        )
        conn.execute(
            "INSERT INTO article_writes(revision, article_id) VALUES (?, ?)"
            " ON CONFLICT(revision) DO UPDATE SET article_id = excluded.article_id",
            (revision, article_id),
        )
        if revision % 1000 == 0:
            conn.execute(
                "DELETE FROM article_writes WHERE revision <= ?", (revision - WRITE_LOG_KEEP,)
            )
        return revision

    def articles_written_since(
        self, revision: int, current: int, limit: int = 1000
    ) -> set[str] | None:
        """The articles that writes after `revision`, up to `current`, changed.

        None when that is not known for every one of those writes (the log was trimmed, or a
        write named no article) or when they are more than `limit`: then assume anything did.
        """
        if revision < 0 or current - revision > limit:
            return None
        rows = self._conn.execute(
            "SELECT article_id FROM article_writes WHERE revision > ? AND revision <= ?",
            (revision, current),
        ).fetchall()
        if len(rows) != current - revision:
            return None
        return {row["article_id"] for row in rows}

    def writes_between(self, after: int, upto: int) -> dict[int, str]:
        """The article each write after revision `after`, up to `upto`, changed, by revision.

        A revision the log no longer keeps (trimmed) is missing from the answer: a node that
        fell that far behind cannot tell which articles changed, and reads them all again.
        """
        rows = self._conn.execute(
            "SELECT revision, article_id FROM article_writes WHERE revision > ? AND revision <= ?",
            (after, upto),
        ).fetchall()
        return {int(row["revision"]): row["article_id"] for row in rows}

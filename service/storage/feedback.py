"""The feedback tables: verdicts and their review, learned symptoms, penalties.

Only storage lives here; what may be learned, when a verdict takes effect and how much a doubt
lowers an issue are service/learning.py's rules. Writes that change answers run inside the
caller's `transaction()` and are counted with `record_write`.
"""

from __future__ import annotations

import json
from typing import Any

from service.storage.connection import Database, placeholders
from service.storage.revisions import RevisionLog, Write


def _verdict(row: Any) -> dict[str, Any]:
    """A feedback row as a plain record, its line lists decoded."""
    record = dict(row)
    record["helpful"] = bool(record["helpful"])
    record["evidence"] = json.loads(record["evidence"])
    record["lessons"] = json.loads(record["lessons"])
    return record


class FeedbackTables(RevisionLog, Database):
    """Verdicts, learned symptoms and penalties, keyed by issue id."""

    # -- verdicts -----------------------------------------------------------------------------

    def add_verdict(
        self,
        *,
        created_at: str,
        issue_id: str,
        helpful: bool,
        request_id: str | None,
        comment: str | None,
        evidence: list[str],
        lessons: list[str],
        client: str | None,
    ) -> int:
        """Record a verdict, pending review; returns its id."""
        row = self._conn.execute(
            "INSERT INTO feedback(created_at, issue_id, helpful, request_id, comment, evidence,"
            " lessons, client, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending') RETURNING id",
            (
                created_at,
                issue_id,
                int(helpful),
                request_id,
                comment,
                json.dumps(evidence),
                json.dumps(lessons),
                client,
            ),
        ).fetchone()
        return int(row["id"])

    def verdict(self, feedback_id: int) -> dict[str, Any] | None:
        """One verdict with every field, and `article_id`, its issue's article (None when the
        issue is no longer in the store).

        Read inside a transaction on PostgreSQL, the verdict stays locked until it ends: two
        reviewers on two nodes never both apply one verdict (SQLite's write transaction holds
        the whole file already)."""
        sql = (
            "SELECT f.*, i.article_id FROM feedback f LEFT JOIN issues i ON i.id = f.issue_id"
            " WHERE f.id=?"
        )
        if self.is_postgres and self.in_transaction():
            sql += " FOR UPDATE OF f"
        row = self._conn.execute(sql, (feedback_id,)).fetchone()
        return _verdict(row) if row is not None else None

    def pending_verdicts(self, limit: int, after: int = 0) -> list[dict[str, Any]]:
        """Verdicts waiting for review, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM feedback WHERE status='pending' AND id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [_verdict(row) for row in rows]

    def pending_count(self, client: str) -> int:
        """How many verdicts of one client wait for review."""
        row = self._conn.execute(
            "SELECT count(*) AS n FROM feedback WHERE status='pending' AND client=?", (client,)
        ).fetchone()
        return int(row["n"])

    def set_verdict_status(self, feedback_id: int, status: str, reviewed_at: str) -> None:
        self._conn.execute(
            "UPDATE feedback SET status=?, reviewed_at=? WHERE id=?",
            (status, reviewed_at, feedback_id),
        )

    def clients_agreeing(self, issue_id: str, helpful: bool, signature: str) -> int:
        """Distinct clients whose verdict (not rejected) on this issue says the same of this
        line: would teach it (helpful) or lower it (not helpful)."""
        column = "lessons" if helpful else "evidence"
        items = self.dialect.json_items.format(f"f.{column}")
        row = self._conn.execute(
            f"SELECT count(DISTINCT f.client) AS n FROM feedback f, {items}"
            " WHERE f.issue_id=? AND f.helpful=? AND f.status != 'rejected'"
            " AND f.client IS NOT NULL AND j.value=?",
            (issue_id, int(helpful), signature),
        ).fetchone()
        return int(row["n"])

    def verdict_counts(self) -> dict[str, int]:
        """Verdicts in all, helpful ones, pending ones, and learned symptoms."""
        row = self._conn.execute(
            "SELECT count(*) AS total, coalesce(sum(helpful), 0) AS helpful,"
            " coalesce(sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending"
            " FROM feedback"
        ).fetchone()
        learned = self._conn.execute("SELECT count(*) AS n FROM learned_symptoms").fetchone()
        return {
            "total": row["total"],
            "helpful": row["helpful"],
            "pending": row["pending"],
            "learned_symptoms": learned["n"],
        }

    # -- penalties ----------------------------------------------------------------------------

    def add_penalties(
        self, issue_id: str, signatures: list[str], now: str, *, once_more: bool
    ) -> None:
        """Count a verdict against lines of an issue: once more on each line (`once_more`), or
        only on lines that no verdict counted against yet."""
        if once_more:
            statement = (
                "INSERT INTO issue_penalties(issue_id, signature, verdicts, updated_at)"
                " VALUES (?, ?, 1, ?) ON CONFLICT(issue_id, signature)"
                " DO UPDATE SET verdicts = issue_penalties.verdicts + 1, updated_at = excluded.updated_at"
            )
        else:
            statement = (
                "INSERT INTO issue_penalties(issue_id, signature, verdicts, updated_at)"
                " VALUES (?, ?, 1, ?) ON CONFLICT(issue_id, signature) DO NOTHING"
            )
        self._conn.executemany(statement, [(issue_id, s, now) for s in signatures])

    def remove_penalties(self, issue_id: str, signatures: list[str]) -> None:
        self._conn.executemany(
            "DELETE FROM issue_penalties WHERE issue_id=? AND signature=?",
            [(issue_id, s) for s in signatures],
        )

    def penalties(self, issue_id: str) -> dict[str, int]:
        """Signature -> number of "not helpful" verdicts against this issue on that line."""
        rows = self._conn.execute(
            "SELECT signature, verdicts FROM issue_penalties WHERE issue_id=?", (issue_id,)
        )
        return {row["signature"]: row["verdicts"] for row in rows}

    def penalised_issue_ids(self) -> set[str]:
        """Issues some line of which a verdict counts against."""
        rows = self._conn.execute("SELECT DISTINCT issue_id FROM issue_penalties")
        return {row["issue_id"] for row in rows}

    # -- learned symptoms ---------------------------------------------------------------------

    def add_learned_symptoms(
        self,
        issue_id: str,
        article_id: str,
        signatures: list[str],
        feedback_id: int,
        now: str,
    ) -> list[dict[str, Any]]:
        """Learn lines as symptoms of an issue (lines it has learned already are skipped);
        returns the records added."""
        conn = self._conn
        # Learned ids count on per issue: two nodes learning for one issue at once would
        # otherwise both take the next number.
        self.lock(f"issue:{issue_id}")
        known = {
            row["text"]
            for row in conn.execute(
                "SELECT text FROM learned_symptoms WHERE issue_id=?", (issue_id,)
            )
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
                "INSERT INTO learned_symptoms(id, issue_id, article_id, text, feedback_id,"
                " created_at) VALUES (:id, :issue_id, :article_id, :text, :feedback_id,"
                " :created_at)",
                record,
            )
            learned.append(record)
        return learned

    def learned_symptoms(self, issue_id: str) -> list[dict[str, Any]]:
        """The learned symptoms of one issue, oldest first."""
        return self.learned_symptoms_of([issue_id]).get(issue_id, [])

    def learned_symptoms_of(self, issue_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """`learned_symptoms` of several issues in one statement, by issue id (issues with none
        left out)."""
        learned: dict[str, list[dict[str, Any]]] = {}
        if not issue_ids:
            return learned
        rows = self._conn.execute(
            "SELECT id, issue_id, article_id, text, feedback_id, created_at FROM learned_symptoms"
            f" WHERE issue_id IN ({placeholders(issue_ids)}) ORDER BY created_at, id",
            list(issue_ids),
        )
        for row in rows:
            learned.setdefault(row["issue_id"], []).append(dict(row))
        return learned

    def learned_ids(self) -> frozenset[str]:
        """Ids of every learned symptom."""
        return frozenset(row["id"] for row in self._conn.execute("SELECT id FROM learned_symptoms"))

    def remove_learned_symptom(self, issue_id: str, learned_id: str) -> Write | None:
        """Forget one learned symptom, in its own transaction; None when there was none."""
        with self.transaction():
            self.lock(f"issue:{issue_id}")
            row = self._conn.execute(
                "SELECT article_id FROM learned_symptoms WHERE id=? AND issue_id=?",
                (learned_id, issue_id),
            ).fetchone()
            if row is None:
                return None
            self._conn.execute("DELETE FROM learned_symptoms WHERE id=?", (learned_id,))
            revision = self.record_write(row["article_id"])
        return Write(row["article_id"], "unlearned", revision)

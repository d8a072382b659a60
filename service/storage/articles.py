"""Writing articles: each one whole, with all its records, in one transaction.

One article is always written or deleted as a whole, so readers never see half an article.
Every write is counted as a revision (service/storage/revisions.py) and hands it back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from service.article_text import LINE_KEYS_FORMAT, LineKeys, article_lines
from service.storage.records import RecordReads
from service.storage.revisions import RevisionLog, Write


def content_hash(document: dict[str, Any]) -> str:
    """A stable fingerprint of an article, so re-importing the same text changes nothing."""
    text = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class ArticleWrites(RevisionLog, RecordReads):
    """Whole-article writes and deletes, and the line keys kept beside each article."""

    def save_article(
        self,
        document: dict[str, Any],
        source: str,
        lines: LineKeys | None = None,
    ) -> Write:
        """Write one validated article and all its records.

        The outcome is created, updated or unchanged; a curated article is never replaced by
        an imported copy: that is 'kept'. `lines` are the article's line keys, when the caller
        worked them out already.
        """
        article_id = document["id"]
        digest = content_hash(document)
        conn = self._conn
        # Returning early from the transaction commits it with nothing written.
        with self.transaction():
            # Two nodes saving one article at once: the second waits, then finds the first's.
            self.lock(f"article:{article_id}")
            row = conn.execute(
                "SELECT content_hash, source FROM articles WHERE id=?", (article_id,)
            ).fetchone()
            if row is not None and row["source"] == "curated" and source == "imported":
                return Write(article_id, "kept")
            if row is not None and row["content_hash"] == digest and row["source"] == source:
                return Write(article_id, "unchanged")
            if row is not None:
                conn.execute("DELETE FROM articles WHERE id=?", (article_id,))
                conn.execute("DELETE FROM article_search WHERE rowid=?", (int(article_id),))
            self._insert_article(conn, document, source, digest)
            self._insert_lines(
                conn,
                int(article_id),
                lines if lines is not None else LineKeys.of(article_lines(document)),
            )
            revision = self.record_write(article_id)
        return Write(article_id, "created" if row is None else "updated", revision)

    def delete_article(self, article_id: str) -> Write | None:
        """Delete an article and every record linked to it; None when it did not exist."""
        conn = self._conn
        with self.transaction():
            self.lock(f"article:{article_id}")
            if not conn.execute("DELETE FROM articles WHERE id=?", (article_id,)).rowcount:
                return None
            conn.execute("DELETE FROM article_search WHERE rowid=?", (int(article_id),))
            conn.execute("DELETE FROM line_keys WHERE article_id=?", (int(article_id),))
            revision = self.record_write(article_id)
        return Write(article_id, "deleted", revision)

    @staticmethod
    def _insert_lines(conn: Any, article_id: int, lines: LineKeys) -> None:
        conn.execute(
            "INSERT INTO line_keys(article_id, keys, issue_numbers) VALUES (?, ?, ?)"
            " ON CONFLICT(article_id) DO UPDATE"
            " SET keys = excluded.keys, issue_numbers = excluded.issue_numbers",
            (article_id, lines.keys.tobytes(), lines.issue_numbers.tobytes()),
        )

    def rebuild_article_lines(self) -> int:
        """Make every article's line keys again (after the way they are made changed)."""
        conn = self._conn
        with self.transaction():
            self.lock("line_keys")
            if self.get_meta("line_keys_format") == str(LINE_KEYS_FORMAT):
                # Another process made them while this one waited for the lock.
                return 0
            conn.execute("DELETE FROM line_keys")
            ids = [row[0] for row in conn.execute("SELECT id FROM articles")]
            for article_id in ids:
                document = self.article_text(article_id)
                if document is not None:
                    self._insert_lines(conn, int(article_id), LineKeys.of(article_lines(document)))
            self.set_meta("line_keys_format", str(LINE_KEYS_FORMAT))
        return len(ids)

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A value of the store's own settings (revision, formats, keys), None when unset."""
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Set one of the store's own settings."""
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    @staticmethod
    def _insert_article(conn: Any, doc: dict[str, Any], source: str, digest: str) -> None:
        article_id = doc["id"]
        conn.execute(
            "INSERT INTO articles(id, title, summary, modification_type, last_reviewed, source,"
            " content_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article_id,
                doc["title"],
                doc.get("summary", ""),
                doc.get("modification_type"),
                _iso(doc.get("last_reviewed")),
                source,
                digest,
                _now(),
            ),
        )
        body = "\n\n".join(
            [doc.get("summary", "")]
            + [f"{s['heading']}\n{s['body']}" for s in doc.get("sections", [])]
            + [s["text"] for s in doc.get("symptoms", [])]
        )
        # KB numbers are integers, so the article's number is its row in the search table
        # (PostgreSQL's table names its key `rowid` too, and makes the tsvector itself).
        conn.execute(
            "INSERT INTO article_search(rowid, title, body) VALUES (?, ?, ?)",
            (int(article_id), doc["title"], body),
        )
        aliases = {a for a in doc.get("aliases", []) if a.lower() != article_id.lower()}
        for alias in ("Q" + article_id, "KB" + article_id):
            aliases.add(alias)
        for alias in sorted(aliases, key=str.lower):
            # An alias claimed by another article stays with it; the id itself always works.
            conn.execute(
                "INSERT INTO article_aliases(alias, article_id) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (alias, article_id),
            )
        conn.executemany(
            "INSERT INTO article_products(article_id, position, product, version)"
            " VALUES (?, ?, ?, ?)",
            [
                (article_id, i, p["product"], p.get("version", ""))
                for i, p in enumerate(doc.get("applies_to", []))
            ],
        )
        conn.executemany(
            "INSERT INTO article_keywords(article_id, keyword) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(article_id, k) for k in doc.get("keywords", [])],
        )
        conn.executemany(
            "INSERT INTO sections(article_id, position, key, heading, body) VALUES (?, ?, ?, ?, ?)",
            [
                (article_id, i, s["key"], s["heading"], s["body"])
                for i, s in enumerate(doc.get("sections", []))
            ],
        )
        conn.executemany(
            "INSERT INTO related_articles(article_id, position, target_id, title, reason)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (article_id, i, r["article_id"], r.get("title", ""), r.get("reason", ""))
                for i, r in enumerate(doc.get("related", []))
            ],
        )
        conn.executemany(
            "INSERT INTO issues(id, article_id, number, title, description) VALUES (?, ?, ?, ?, ?)",
            [
                (i["id"], article_id, i["number"], i["title"], i.get("description", ""))
                for i in doc["issues"]
            ],
        )
        conn.executemany(
            "INSERT INTO symptoms(id, issue_id, article_id, position, kind, text, log_files,"
            " occurrences) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    s["id"],
                    s["issue_id"],
                    article_id,
                    i,
                    s["kind"],
                    s["text"],
                    json.dumps(s.get("log_files", [])),
                    s.get("occurrences", 1),
                )
                for i, s in enumerate(doc.get("symptoms", []))
            ],
        )
        for i, cause in enumerate(doc.get("causes", [])):
            conn.execute(
                "INSERT INTO causes(id, article_id, position, text, missing_update,"
                " applies_to_sites) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    cause["id"],
                    article_id,
                    i,
                    cause["text"],
                    cause.get("missing_update"),
                    cause.get("applies_to_sites"),
                ),
            )
            conn.executemany(
                "INSERT INTO cause_issues(cause_id, issue_id) VALUES (?, ?)",
                [(cause["id"], issue_id) for issue_id in cause["issue_ids"]],
            )
        for i, workaround in enumerate(doc.get("workarounds", [])):
            conn.execute(
                "INSERT INTO workarounds(id, article_id, position, title, description,"
                " preconditions, warnings) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    workaround["id"],
                    article_id,
                    i,
                    workaround["title"],
                    workaround.get("description", ""),
                    json.dumps(workaround.get("preconditions", [])),
                    json.dumps(workaround.get("warnings", [])),
                ),
            )
            conn.executemany(
                "INSERT INTO workaround_issues(workaround_id, issue_id) VALUES (?, ?)",
                [(workaround["id"], issue_id) for issue_id in workaround["issue_ids"]],
            )
            conn.executemany(
                "INSERT INTO steps(id, workaround_id, number, text, warnings, notes)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        f"{workaround['id']}-{step['number']}",
                        workaround["id"],
                        step["number"],
                        step["text"],
                        json.dumps(step.get("warnings", [])),
                        json.dumps(step.get("notes", [])),
                    )
                    for step in workaround.get("steps", [])
                ],
            )

"""The SQLite store: articles and their linked records, written in transactions.

One article is always written or deleted as a whole, in one transaction, so readers never see
half an article. Every write bumps `revision`, which lets other processes notice a change and
lets a start-up check compare the store with the index.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from service.article_text import LINE_KEYS_FORMAT, LineKeys, article_lines

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    modification_type TEXT,
    last_reviewed TEXT,
    source TEXT NOT NULL CHECK (source IN ('curated', 'imported', 'api')),
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS article_aliases (
    alias TEXT PRIMARY KEY COLLATE NOCASE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS article_products (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, position)
);
CREATE INDEX IF NOT EXISTS article_products_product ON article_products(product COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS article_keywords (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    keyword TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (article_id, keyword)
);
CREATE INDEX IF NOT EXISTS article_keywords_keyword ON article_keywords(keyword);
CREATE TABLE IF NOT EXISTS sections (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    heading TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE TABLE IF NOT EXISTS related_articles (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    target_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, position)
);
CREATE INDEX IF NOT EXISTS related_articles_target ON related_articles(target_id);
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS issues_article ON issues(article_id);
CREATE TABLE IF NOT EXISTS symptoms (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    log_files TEXT NOT NULL DEFAULT '[]',
    occurrences INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS symptoms_issue ON symptoms(issue_id);
CREATE INDEX IF NOT EXISTS symptoms_article ON symptoms(article_id);
CREATE TABLE IF NOT EXISTS causes (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    missing_update TEXT,
    applies_to_sites TEXT
);
CREATE INDEX IF NOT EXISTS causes_article ON causes(article_id);
CREATE TABLE IF NOT EXISTS cause_issues (
    cause_id TEXT NOT NULL REFERENCES causes(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (cause_id, issue_id)
);
CREATE INDEX IF NOT EXISTS cause_issues_issue ON cause_issues(issue_id);
CREATE TABLE IF NOT EXISTS workarounds (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    preconditions TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS workarounds_article ON workarounds(article_id);
CREATE TABLE IF NOT EXISTS workaround_issues (
    workaround_id TEXT NOT NULL REFERENCES workarounds(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (workaround_id, issue_id)
);
CREATE INDEX IF NOT EXISTS workaround_issues_issue ON workaround_issues(issue_id);
CREATE TABLE IF NOT EXISTS steps (
    id TEXT PRIMARY KEY,
    workaround_id TEXT NOT NULL REFERENCES workarounds(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS steps_workaround ON steps(workaround_id);
-- What users taught the matcher (service.learning). Kept apart from the articles' records and
-- keyed by issue id without a foreign key: re-importing an article replaces its issues, and what
-- was learned for an issue id must outlive that.
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    request_id TEXT,
    comment TEXT,
    evidence TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS feedback_issue ON feedback(issue_id);
CREATE TABLE IF NOT EXISTS learned_symptoms (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    text TEXT NOT NULL,
    feedback_id INTEGER REFERENCES feedback(id),
    created_at TEXT NOT NULL,
    UNIQUE (issue_id, text)
);
CREATE INDEX IF NOT EXISTS learned_symptoms_article ON learned_symptoms(article_id);
CREATE TABLE IF NOT EXISTS issue_penalties (
    issue_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    verdicts INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (issue_id, signature)
);
-- Which article each recent revision wrote, so that a process can tell what changed since the
-- revision its caches were built at, and keep what did not.
CREATE TABLE IF NOT EXISTS article_writes (
    revision INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL
);
"""
# What review added to feedback: a verdict waits (`pending`) until a token holder approves or
# rejects it. Verdicts recorded before review existed had taken effect, hence the default.
FEEDBACK_REVIEW_COLUMNS = {
    "status": "TEXT NOT NULL DEFAULT 'approved'",
    "lessons": "TEXT NOT NULL DEFAULT '[]'",
    "client": "TEXT",
    "reviewed_at": "TEXT",
}
# Every line an article says, as keys of normalised lines (service/article_text.py), kept whole
# beside the article and written with it; the line index (service/line_index.py) turns them
# around, key -> articles, for lookups.
LINES_SCHEMA = """
CREATE TABLE IF NOT EXISTS line_keys (
    article_id INTEGER PRIMARY KEY,
    keys BLOB NOT NULL,
    issue_numbers BLOB NOT NULL
);
"""
# Articles per statement when their issues are looked up together.
ISSUE_LOOKUP_CHUNK = 2_000
# Revisions the write log keeps; a process whose caches are older than that starts them over.
WRITE_LOG_KEEP = 10_000
# Full-text search over whole articles lives in SQLite (FTS5, in C) beside the records, written in
# the same transaction; the Whoosh index holds only what log matching needs.
SEARCH_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS article_search
    USING fts5(title, body, tokenize='porter unicode61');
"""

RECORD_TABLES = ("articles", "issues", "symptoms", "causes", "workarounds")


def open_database(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rows by name, WAL journal.

    WAL lets readers in other processes go on while one writer commits; `timeout` is how long
    a writer waits for another's lock before giving up.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class ArticleNotFound(LookupError):
    """No article has that id or alias."""


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


class Store:
    """Access to one SQLite database file; one connection per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def connect(self) -> sqlite3.Connection:
        """Open a new connection with foreign keys on and WAL for concurrent readers."""
        conn = open_database(self.path, timeout=30)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def initialise(self) -> None:
        """Create the tables if they are missing (idempotent)."""
        self.conn.executescript(SCHEMA)
        self.conn.executescript(SEARCH_SCHEMA)
        self.conn.executescript(LINES_SCHEMA)
        self.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('revision', '0')")
        self._add_missing_columns("feedback", FEEDBACK_REVIEW_COLUMNS)
        self.conn.execute("CREATE INDEX IF NOT EXISTS feedback_status ON feedback(status, id)")
        # The key of the hashes that stand for clients (service.privacy.client_hash).
        self.conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('client_key', ?)",
            (secrets.token_hex(16),),
        )
        if self.get_meta("line_keys_format") != str(LINE_KEYS_FORMAT):
            self.rebuild_article_lines()

    def _add_missing_columns(self, table: str, columns: dict[str, str]) -> None:
        """Bring a table made by an earlier version up to date: SQLite adds columns in place."""
        present = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
        for name, definition in columns.items():
            if name not in present:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE): committed when the block ends, rolled back
        when it raises."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def client_key(self) -> bytes:
        """The secret key of client hashes, made once per store."""
        return bytes.fromhex(self.get_meta("client_key") or "")

    def exists(self) -> bool:
        if not self.path.exists():
            return False
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='articles'"
        ).fetchone()
        return row is not None

    # -- meta -------------------------------------------------------------------------------

    def revision(self) -> int:
        """A counter bumped by every write; other processes compare it to see a change."""
        row = self.conn.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        return int(row["value"]) if row else 0

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # -- writes -----------------------------------------------------------------------------

    def save_article(
        self,
        document: dict[str, Any],
        source: str,
        lines: LineKeys | None = None,
    ) -> str:
        """Write one validated article and all its records; returns created/updated/unchanged.

        A curated article is never replaced by an imported copy: that returns 'kept'. `lines`
        are the article's line keys, when the caller worked them out already.
        """
        digest = content_hash(document)
        conn = self.conn
        revision = None
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT content_hash, source FROM articles WHERE id=?", (document["id"],)
            ).fetchone()
            if row is not None and row["source"] == "curated" and source == "imported":
                conn.execute("ROLLBACK")
                return "kept"
            if row is not None and row["content_hash"] == digest and row["source"] == source:
                conn.execute("ROLLBACK")
                return "unchanged"
            if row is not None:
                conn.execute("DELETE FROM articles WHERE id=?", (document["id"],))
                conn.execute("DELETE FROM article_search WHERE rowid=?", (int(document["id"]),))
            self._insert_article(conn, document, source, digest)
            self._insert_lines(
                conn,
                int(document["id"]),
                lines if lines is not None else LineKeys.of(article_lines(document)),
            )
            revision = self.bump_revision(conn, document["id"])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self._forget_unindexed(revision)
            raise
        return "created" if row is None else "updated"

    def delete_article(self, article_id: str) -> bool:
        """Delete an article and every record linked to it; False when it did not exist."""
        conn = self.conn
        revision = None
        conn.execute("BEGIN IMMEDIATE")
        try:
            deleted = conn.execute("DELETE FROM articles WHERE id=?", (article_id,)).rowcount
            if deleted:
                conn.execute("DELETE FROM article_search WHERE rowid=?", (int(article_id),))
                conn.execute("DELETE FROM line_keys WHERE article_id=?", (int(article_id),))
                revision = self.bump_revision(conn, article_id)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self._forget_unindexed(revision)
            raise
        return bool(deleted)

    @staticmethod
    def _insert_lines(conn: sqlite3.Connection, article_id: int, lines: LineKeys) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO line_keys(article_id, keys, issue_numbers) VALUES (?, ?, ?)",
            (article_id, lines.keys.tobytes(), lines.issue_numbers.tobytes()),
        )

    def rebuild_article_lines(self) -> int:
        """Make every article's line keys again (after the way they are made changed)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if self.get_meta("line_keys_format") == str(LINE_KEYS_FORMAT):
                # Another process made them while this one waited for the lock.
                conn.execute("ROLLBACK")
                return 0
            conn.execute("DELETE FROM line_keys")
            ids = [row[0] for row in conn.execute("SELECT id FROM articles")]
            for article_id in ids:
                document = self.article_text(article_id)
                if document is not None:
                    self._insert_lines(conn, int(article_id), LineKeys.of(article_lines(document)))
            self.set_meta("line_keys_format", str(LINE_KEYS_FORMAT))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(ids)

    def iter_line_keys(
        self, article_ids: list[int] | None = None
    ) -> Iterator[tuple[int, array, list[int]]]:
        """(article id, its line keys, the issue number of each) for the given articles, or all."""
        if article_ids is None:
            conn = self.connect()
            rows: Iterable[Any] = conn.execute(
                "SELECT article_id, keys, issue_numbers FROM line_keys"
            )
        else:
            conn = None
            rows = [
                row
                for article_id in article_ids
                for row in self.conn.execute(
                    "SELECT article_id, keys, issue_numbers FROM line_keys WHERE article_id=?",
                    (article_id,),
                )
            ]
        try:
            for article_id, blob, numbers in rows:
                keys = array("q")
                keys.frombytes(blob)
                issues = array("H")
                issues.frombytes(numbers)
                yield article_id, keys, issues.tolist()
        finally:
            if conn is not None:
                conn.close()

    def article_text(self, article_id: str) -> dict[str, Any] | None:
        """What `article_lines` reads of a stored article, and nothing else."""
        conn = self.conn
        row = conn.execute("SELECT title FROM articles WHERE id=?", (article_id,)).fetchone()
        if row is None:
            return None
        return {
            "title": row["title"],
            "issues": [
                dict(r)
                for r in conn.execute(
                    "SELECT id, number, title, description FROM issues WHERE article_id=?"
                    " ORDER BY number",
                    (article_id,),
                )
            ],
            "symptoms": [
                dict(r)
                for r in conn.execute(
                    "SELECT issue_id, text FROM symptoms WHERE article_id=? ORDER BY position",
                    (article_id,),
                )
            ],
            "sections": [
                dict(r)
                for r in conn.execute(
                    "SELECT body FROM sections WHERE article_id=? ORDER BY position",
                    (article_id,),
                )
            ],
        }

    def issue_ids_by_number(self, article_ids: list[str]) -> dict[tuple[str, int], str]:
        """(article id, issue number) -> issue id, for the given articles."""
        out: dict[tuple[str, int], str] = {}
        for start in range(0, len(article_ids), ISSUE_LOOKUP_CHUNK):
            chunk = article_ids[start : start + ISSUE_LOOKUP_CHUNK]
            for row in self.conn.execute(
                "SELECT article_id, number, id FROM issues WHERE article_id IN ("
                + ",".join("?" * len(chunk))
                + ")",
                chunk,
            ):
                out[(row[0], row[1])] = row[2]
        return out

    def bump_revision(self, conn: sqlite3.Connection, article_id: str | None = None) -> int:
        """Count a write, inside its transaction: caches and the index compare revisions.

        The new revision is also noted as this thread's to index, under the article it changed
        (None: the article the next index update of this thread names), until `take_unindexed`
        hands it to that update. The index needs each write's own revision: the store's current
        one may already include other processes' writes that are not indexed yet.
        """
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='revision'")
        revision = int(conn.execute("SELECT value FROM meta WHERE key='revision'").fetchone()[0])
        if article_id is not None:
            conn.execute(
                "INSERT OR REPLACE INTO article_writes(revision, article_id) VALUES (?, ?)",
                (revision, article_id),
            )
            if revision % 1000 == 0:
                conn.execute(
                    "DELETE FROM article_writes WHERE revision <= ?", (revision - WRITE_LOG_KEEP,)
                )
        self._unindexed().append((revision, article_id))
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
        rows = self.conn.execute(
            "SELECT article_id FROM article_writes WHERE revision > ? AND revision <= ?",
            (revision, current),
        ).fetchall()
        if len(rows) != current - revision:
            return None
        return {row["article_id"] for row in rows}

    def _unindexed(self) -> list[tuple[int, str | None]]:
        pending = getattr(self._local, "unindexed", None)
        if pending is None:
            pending = self._local.unindexed = []
        return pending

    def _forget_unindexed(self, revision: int | None) -> None:
        """A write rolled back after counting: its revision number will be given out again."""
        pending = self._unindexed()
        pending[:] = [entry for entry in pending if entry[0] != revision]

    def take_unindexed(self, article_ids: Iterable[str] | None = None) -> list[int]:
        """Revisions of this thread's committed writes that no index update has covered yet.

        Those of `article_ids` (and of writes that named no article), or all when None; the
        revisions returned are removed, as the caller is about to record them as indexed.
        """
        pending = self._unindexed()
        wanted = None if article_ids is None else set(article_ids)

        def covered(article_id: str | None) -> bool:
            return wanted is None or article_id is None or article_id in wanted

        taken = [revision for revision, article_id in pending if covered(article_id)]
        pending[:] = [entry for entry in pending if not covered(entry[1])]
        return taken

    @staticmethod
    def _insert_article(
        conn: sqlite3.Connection, doc: dict[str, Any], source: str, digest: str
    ) -> None:
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
        # KB numbers are integers, so the article's number is its row in the search table.
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
                "INSERT OR IGNORE INTO article_aliases(alias, article_id) VALUES (?, ?)",
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
            "INSERT OR IGNORE INTO article_keywords(article_id, keyword) VALUES (?, ?)",
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

    # -- reads ------------------------------------------------------------------------------

    def resolve_article_id(self, name: str) -> str:
        """Turn an id or alias (264630, Q264630, KB264630) into the article's id."""
        conn = self.conn
        row = conn.execute("SELECT id FROM articles WHERE id=?", (name,)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT article_id AS id FROM article_aliases WHERE alias=?", (name,)
            ).fetchone()
        if row is None:
            raise ArticleNotFound(name)
        return row["id"]

    def article_source(self, article_id: str) -> str | None:
        """Where an article came from (curated, imported, api), or None when absent."""
        row = self.conn.execute("SELECT source FROM articles WHERE id=?", (article_id,)).fetchone()
        return row["source"] if row else None

    def article_exists(self, article_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM articles WHERE id=?", (article_id,)).fetchone()
            is not None
        )

    def existing_article_ids(self, ids: list[str]) -> set[str]:
        """The subset of `ids` that are articles in the store (for resolving links)."""
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id FROM articles WHERE id IN ({marks})", ids)
        return {row["id"] for row in rows}

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """The whole article: its fields and every linked record, nested."""
        conn = self.conn
        row = conn.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        if row is None:
            return None
        article = dict(row)
        article["aliases"] = [
            r["alias"]
            for r in conn.execute(
                "SELECT alias FROM article_aliases WHERE article_id=? ORDER BY alias", (article_id,)
            )
        ]
        article["applies_to"] = [
            {"product": r["product"], "version": r["version"]}
            for r in conn.execute(
                "SELECT product, version FROM article_products WHERE article_id=? ORDER BY position",
                (article_id,),
            )
        ]
        article["keywords"] = [
            r["keyword"]
            for r in conn.execute(
                "SELECT keyword FROM article_keywords WHERE article_id=? ORDER BY rowid",
                (article_id,),
            )
        ]
        article["sections"] = [
            dict(r)
            for r in conn.execute(
                "SELECT key, heading, body FROM sections WHERE article_id=? ORDER BY position",
                (article_id,),
            )
        ]
        related = [
            dict(r)
            for r in conn.execute(
                "SELECT target_id AS article_id, title, reason FROM related_articles"
                " WHERE article_id=? ORDER BY position",
                (article_id,),
            )
        ]
        present = self.existing_article_ids([r["article_id"] for r in related])
        for r in related:
            r["in_store"] = r["article_id"] in present
        article["related"] = related
        article["referenced_by"] = [
            r["article_id"]
            for r in conn.execute(
                "SELECT DISTINCT article_id FROM related_articles WHERE target_id=?"
                " ORDER BY article_id",
                (article_id,),
            )
        ]
        article["issues"] = self.issues_of_article(article_id)
        article["symptoms"] = self._symptoms("s.article_id=?", (article_id,))
        article["causes"] = self._causes("c.article_id=?", (article_id,))
        article["workarounds"] = self._workarounds("w.article_id=?", (article_id,))
        return article

    def issues_of_article(self, article_id: str) -> list[dict[str, Any]]:
        return self._issues("i.article_id=?", (article_id,))

    def get_issue(self, issue_id: str) -> dict[str, Any] | None:
        rows = self._issues("i.id=?", (issue_id,))
        return rows[0] if rows else None

    def issue_details(self, issue_id: str) -> dict[str, Any] | None:
        """An issue with its symptoms, causes and workarounds (with steps) inlined."""
        issue = self.get_issue(issue_id)
        if issue is None:
            return None
        issue["symptoms"] = self._symptoms("s.issue_id=?", (issue_id,))
        issue["causes"] = self._causes(
            "c.id IN (SELECT cause_id FROM cause_issues WHERE issue_id=?)", (issue_id,)
        )
        issue["workarounds"] = self._workarounds(
            "w.id IN (SELECT workaround_id FROM workaround_issues WHERE issue_id=?)", (issue_id,)
        )
        return issue

    def get_symptom(self, symptom_id: str) -> dict[str, Any] | None:
        rows = self._symptoms("s.id=?", (symptom_id,))
        return rows[0] if rows else None

    def get_cause(self, cause_id: str) -> dict[str, Any] | None:
        rows = self._causes("c.id=?", (cause_id,))
        return rows[0] if rows else None

    def get_workaround(self, workaround_id: str) -> dict[str, Any] | None:
        rows = self._workarounds("w.id=?", (workaround_id,))
        return rows[0] if rows else None

    def _issues(self, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        conn = self.conn
        rows = conn.execute(
            "SELECT i.id, i.article_id, i.number, i.title, i.description, a.title AS article_title"
            f" FROM issues i JOIN articles a ON a.id = i.article_id WHERE {where}"
            " ORDER BY i.article_id, i.number",
            params,
        ).fetchall()
        issues = []
        for row in rows:
            issue = dict(row)
            issue_id = issue["id"]
            issue["symptom_ids"] = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM symptoms WHERE issue_id=? ORDER BY position", (issue_id,)
                )
            ]
            issue["cause_ids"] = [
                r["cause_id"]
                for r in conn.execute(
                    "SELECT ci.cause_id FROM cause_issues ci JOIN causes c ON c.id = ci.cause_id"
                    " WHERE ci.issue_id=? ORDER BY c.position",
                    (issue_id,),
                )
            ]
            issue["workaround_ids"] = [
                r["workaround_id"]
                for r in conn.execute(
                    "SELECT wi.workaround_id FROM workaround_issues wi"
                    " JOIN workarounds w ON w.id = wi.workaround_id"
                    " WHERE wi.issue_id=? ORDER BY w.position",
                    (issue_id,),
                )
            ]
            issues.append(issue)
        return issues

    def _symptoms(self, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT s.id, s.issue_id, s.article_id, s.kind, s.text, s.log_files, s.occurrences"
            f" FROM symptoms s WHERE {where} ORDER BY s.article_id, s.position",
            params,
        ).fetchall()
        symptoms = []
        for row in rows:
            symptom = dict(row)
            symptom["log_files"] = json.loads(symptom["log_files"])
            symptoms.append(symptom)
        return symptoms

    def _causes(self, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        conn = self.conn
        rows = conn.execute(
            "SELECT c.id, c.article_id, c.text, c.missing_update, c.applies_to_sites"
            f" FROM causes c WHERE {where} ORDER BY c.article_id, c.position",
            params,
        ).fetchall()
        causes = []
        for row in rows:
            cause = dict(row)
            cause["issue_ids"] = [
                r["issue_id"]
                for r in conn.execute(
                    "SELECT issue_id FROM cause_issues WHERE cause_id=? ORDER BY issue_id",
                    (cause["id"],),
                )
            ]
            causes.append(cause)
        return causes

    def _workarounds(self, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        conn = self.conn
        rows = conn.execute(
            "SELECT w.id, w.article_id, w.title, w.description, w.preconditions, w.warnings"
            f" FROM workarounds w WHERE {where} ORDER BY w.article_id, w.position",
            params,
        ).fetchall()
        workarounds = []
        for row in rows:
            workaround = dict(row)
            workaround["preconditions"] = json.loads(workaround["preconditions"])
            workaround["warnings"] = json.loads(workaround["warnings"])
            workaround["issue_ids"] = [
                r["issue_id"]
                for r in conn.execute(
                    "SELECT issue_id FROM workaround_issues WHERE workaround_id=? ORDER BY issue_id",
                    (workaround["id"],),
                )
            ]
            workaround["steps"] = [
                {
                    "id": r["id"],
                    "number": r["number"],
                    "text": r["text"],
                    "warnings": json.loads(r["warnings"]),
                    "notes": json.loads(r["notes"]),
                }
                for r in conn.execute(
                    "SELECT * FROM steps WHERE workaround_id=? ORDER BY number",
                    (workaround["id"],),
                )
            ]
            workarounds.append(workaround)
        return workarounds

    # -- lists ------------------------------------------------------------------------------

    def list_records(
        self,
        table: str,
        *,
        limit: int,
        after: str | None = None,
        product: str | None = None,
        version: str | None = None,
        keyword: str | None = None,
        article_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of records ordered by id, filtered by their article; returns (page, next)."""
        if table not in RECORD_TABLES:
            raise ValueError(f"unknown record table {table!r}")
        article_column = "id" if table == "articles" else "article_id"
        clauses: list[str] = []
        params: list[Any] = []
        if after is not None:
            clauses.append("t.id > ?")
            params.append(after)
        if article_id is not None:
            clauses.append(f"t.{article_column} = ?")
            params.append(article_id)
        if product or version:
            sub = "SELECT article_id FROM article_products WHERE 1=1"
            if product:
                sub += " AND instr(lower(product), lower(?)) > 0"
                params.append(product)
            if version:
                sub += " AND lower(version) = lower(?)"
                params.append(version)
            clauses.append(f"t.{article_column} IN ({sub})")
        if keyword:
            clauses.append(
                f"t.{article_column} IN (SELECT article_id FROM article_keywords WHERE keyword = ?)"
            )
            params.append(keyword)
        where = " AND ".join(clauses) or "1=1"
        rows = self.conn.execute(
            f"SELECT t.id FROM {table} t WHERE {where} ORDER BY t.id LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        ids = [row["id"] for row in rows]
        next_after = ids[limit - 1] if len(ids) > limit else None
        ids = ids[:limit]
        getter = {
            "articles": self.article_summary,
            "issues": self.get_issue,
            "symptoms": self.get_symptom,
            "causes": self.get_cause,
            "workarounds": self.get_workaround,
        }[table]
        records = [r for r in (getter(i) for i in ids) if r is not None]
        return records, next_after

    def article_summary(self, article_id: str) -> dict[str, Any] | None:
        """An article's own fields without its records, for lists."""
        conn = self.conn
        row = conn.execute(
            "SELECT id, title, summary, modification_type, last_reviewed, source, updated_at"
            " FROM articles WHERE id=?",
            (article_id,),
        ).fetchone()
        if row is None:
            return None
        article = dict(row)
        article["applies_to"] = [
            {"product": r["product"], "version": r["version"]}
            for r in conn.execute(
                "SELECT product, version FROM article_products WHERE article_id=? ORDER BY position",
                (article_id,),
            )
        ]
        article["keywords"] = [
            r["keyword"]
            for r in conn.execute(
                "SELECT keyword FROM article_keywords WHERE article_id=? ORDER BY rowid",
                (article_id,),
            )
        ]
        article["issue_ids"] = [
            r["id"]
            for r in conn.execute(
                "SELECT id FROM issues WHERE article_id=? ORDER BY number", (article_id,)
            )
        ]
        return article

    def count(self, table: str) -> int:
        if table not in RECORD_TABLES:
            raise ValueError(f"unknown record table {table!r}")
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def iter_match_records(self) -> Iterator[sqlite3.Row]:
        """Every symptom with what the matcher needs of its issue and article."""
        yield from self.conn.execute(
            "SELECT s.id, s.issue_id, s.article_id, s.kind, s.text, s.log_files"
            " FROM symptoms s ORDER BY s.article_id, s.position"
        )

    def iter_issue_texts(self) -> Iterator[sqlite3.Row]:
        """Each issue with the prose a person might use to describe it."""
        yield from self.conn.execute(
            "SELECT i.id, i.article_id, i.title, i.description, a.title AS article_title,"
            " (SELECT group_concat(text, char(10)) FROM symptoms s"
            "   WHERE s.issue_id = i.id AND s.kind != 'log_line') AS conditions"
            " FROM issues i JOIN articles a ON a.id = i.article_id ORDER BY i.id"
        )

    def search_articles(
        self,
        words: list[str],
        *,
        limit: int,
        product: str | None = None,
        every_word: bool = False,
    ) -> list[dict[str, Any]]:
        """Articles ranked by BM25 over title (weighted double) and body, with a snippet.

        Articles with any of the words, or with all of them when `every_word`. The words are
        quoted one by one, so nothing a user types is read as query syntax.
        """
        if not words:
            return []
        match = _fts_query(words, " AND " if every_word else " OR ")
        # Ranking first, snippets after, one row at a time: SQLite works out every selected
        # column of every matching row before it sorts, a snippet costs far more than a score,
        # and a MATCH pinned to one rowid reads that row's postings alone.
        ranked = self.conn.execute(
            "SELECT rowid, -bm25(article_search, 2.0, 1.0) AS score FROM article_search"
            " WHERE article_search MATCH ?"
            + (
                " AND CAST(rowid AS TEXT) IN (SELECT article_id FROM article_products"
                " WHERE instr(lower(product), lower(?)) > 0)"
                if product
                else ""
            )
            + " ORDER BY bm25(article_search, 2.0, 1.0) LIMIT ?",
            [match, *([product] if product else []), limit],
        ).fetchall()
        hits = []
        for rowid, score in ranked:
            row = self.conn.execute(
                "SELECT a.id AS article_id, a.title,"
                " snippet(article_search, 1, '**', '**', ' … ', 24) AS snippet"
                " FROM article_search JOIN articles a ON a.id = CAST(article_search.rowid AS TEXT)"
                " WHERE article_search MATCH ? AND article_search.rowid = ?",
                (match, rowid),
            ).fetchone()
            if row is not None:
                hits.append({**dict(row), "score": score})
        return hits

    def articles_ranked(self, words: list[str], limit: int) -> list[str]:
        """Ids of the articles best matching any of `words` by BM25 (title counted double)."""
        if not words:
            return []
        rows = self.conn.execute(
            "SELECT rowid FROM article_search WHERE article_search MATCH ?"
            " ORDER BY bm25(article_search, 2.0, 1.0) LIMIT ?",
            (_fts_query(words, " OR "), limit),
        )
        return [str(row[0]) for row in rows]

    def articles_with_word(self, word: str) -> int:
        """How many articles the full-text index finds `word` in (stemmed, as searches are)."""
        return self.conn.execute(
            "SELECT count(*) FROM article_search WHERE article_search MATCH ?",
            (_fts_query([word], ""),),
        ).fetchone()[0]

    def article_products(self) -> dict[str, list[tuple[str, str]]]:
        """Products and versions per article, for filtering matches."""
        products: dict[str, list[tuple[str, str]]] = {}
        for row in self.conn.execute("SELECT article_id, product, version FROM article_products"):
            products.setdefault(row["article_id"], []).append((row["product"], row["version"]))
        return products


def _fts_query(words: list[str], joiner: str) -> str:
    """An FTS5 query of `words` taken literally, each quoted, joined by `joiner`."""
    return joiner.join('"' + w.replace('"', '""') + '"' for w in words)

"""The Whoosh index: what matching and search need of each article, kept beside the store.

Three kinds of document live in one index:
- symptom: one per symptom record, with its normalised line signature (looked up exactly) and
  its distinctive terms (for partial matches);
- issue: the prose a person would use to describe the issue (title, description, conditions);
- article: title and text, for full-text search with snippets.

Only one writer may run at a time (a file lock guards it); request handlers only read, through a
searcher that is kept open and refreshed when the index changes.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import SpaceSeparatedTokenizer, StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.searching import Searcher

from service.normalize import normalize, parse_line, signature_key, simplify
from service.store import Store

INDEX_NAME = "kb"
STATE_FILE = "state.json"


def build_schema() -> Schema:
    return Schema(
        doc_id=ID(stored=True, unique=True),
        doc_type=ID(stored=True),
        article_id=ID(stored=True),
        issue_id=ID(stored=True),
        signature=ID(),
        exact=ID(),
        terms=TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=False),
        terms_stored=STORED(),
        component=ID(stored=True),
        log_files=KEYWORD(stored=True, lowercase=True, commas=True),
        title=TEXT(stored=True, analyzer=StemmingAnalyzer()),
        content=TEXT(analyzer=StemmingAnalyzer(), phrase=False),
        length=STORED(),
    )


def symptom_document(row: Any) -> dict[str, Any]:
    """The index entry of one symptom: its line as the matcher will see it."""
    message, component, _ = parse_line(row["text"])
    normal = normalize(message)
    log_files = row["log_files"]
    if isinstance(log_files, str):
        log_files = json.loads(log_files)
    return {
        "doc_id": f"symptom:{row['id']}",
        "doc_type": "symptom",
        "article_id": row["article_id"],
        "issue_id": row["issue_id"],
        "signature": signature_key(normal.signature),
        "exact": signature_key(simplify(message)),
        "terms": " ".join(normal.terms),
        "terms_stored": " ".join(normal.terms),
        "component": (component or "").lower(),
        "log_files": ",".join(f.lower() for f in log_files),
    }


def issue_document(row: Any) -> dict[str, Any]:
    content = "\n".join(
        part
        for part in (row["article_title"], row["title"], row["description"], row["conditions"])
        if part
    )
    return {
        "doc_id": f"issue:{row['id']}",
        "doc_type": "issue",
        "article_id": row["article_id"],
        "issue_id": row["id"],
        "title": row["title"],
        "content": content,
        # words in the issue text: a long text covers any query by chance, so coverage is damped
        "length": len(content.split()),
    }


def article_document(article: dict[str, Any]) -> dict[str, Any]:
    parts = [article["title"], article.get("summary", "")]
    parts += [f"{s['heading']}\n{s['body']}" for s in article.get("sections", [])]
    parts += [s["text"] for s in article.get("symptoms", [])]
    return {
        "doc_id": f"article:{article['id']}",
        "doc_type": "article",
        "article_id": article["id"],
        "title": article["title"],
        "content": "\n".join(p for p in parts if p),
    }


def documents_for_article(store: Store, article_id: str) -> Iterator[dict[str, Any]]:
    """Every index document of one stored article."""
    article = store.get_article(article_id)
    if article is None:
        return
    yield article_document(article)
    conn = store.conn
    for row in conn.execute(
        "SELECT i.id, i.article_id, i.title, i.description, a.title AS article_title,"
        " (SELECT group_concat(text, char(10)) FROM symptoms s"
        "   WHERE s.issue_id = i.id AND s.kind != 'log_line') AS conditions"
        " FROM issues i JOIN articles a ON a.id = i.article_id WHERE i.article_id=?",
        (article_id,),
    ):
        yield issue_document(row)
    for row in conn.execute(
        "SELECT id, issue_id, article_id, text, log_files FROM symptoms WHERE article_id=?",
        (article_id,),
    ):
        yield symptom_document(row)


class KBIndex:
    """The on-disk index under `<KB_HOME>/index`, with one shared, refreshed searcher."""

    REFRESH_SECONDS = 1.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._searcher: Searcher | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists() and whoosh_index.exists_in(str(self.path), indexname=INDEX_NAME)

    def create(self) -> None:
        """Start an empty index (replacing any old one)."""
        self.close()
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        whoosh_index.create_in(str(self.path), build_schema(), indexname=INDEX_NAME)
        self.write_state({"revision": 0})

    def open(self) -> whoosh_index.Index:
        return whoosh_index.open_dir(str(self.path), indexname=INDEX_NAME)

    # -- state: which store revision the index reflects ----------------------------------

    def read_state(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {"revision": -1}

    def write_state(self, state: dict[str, Any]) -> None:
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.path / STATE_FILE)

    # -- writing --------------------------------------------------------------------------

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time across processes."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "write.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def rebuild(self, store: Store) -> int:
        """Index every article in the store from scratch; returns the number of documents."""
        with self.write_lock():
            revision = store.revision()
            self.create()
            ix = self.open()
            writer = ix.writer(limitmb=256)
            count = 0
            try:
                ids = [r["id"] for r in store.conn.execute("SELECT id FROM articles ORDER BY id")]
                for article_id in ids:
                    for document in documents_for_article(store, article_id):
                        writer.add_document(**document)
                        count += 1
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            self.write_state({"revision": revision})
        return count

    def update_articles(self, store: Store, article_ids: Iterable[str]) -> int:
        """Re-index the given articles (deleted ones drop out); returns documents written."""
        with self.write_lock():
            revision = store.revision()
            ix = self.open()
            writer = ix.writer(limitmb=128)
            count = 0
            try:
                for article_id in article_ids:
                    writer.delete_by_term("article_id", article_id)
                    for document in documents_for_article(store, article_id):
                        writer.add_document(**document)
                        count += 1
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            self.write_state({"revision": revision})
        return count

    # -- reading --------------------------------------------------------------------------

    def searcher(self) -> Searcher:
        """A searcher kept open across requests, refreshed at most once a second."""
        with self._lock:
            now = time.monotonic()
            if self._searcher is None:
                self._searcher = self.open().searcher()
                self._checked_at = now
            elif now - self._checked_at >= self.REFRESH_SECONDS:
                self._checked_at = now
                if not self._searcher.up_to_date():
                    self._searcher = self._searcher.refresh()
            return self._searcher

    def document_count(self) -> int:
        return self.searcher().doc_count()

    def size_on_disk(self) -> int:
        return sum(f.stat().st_size for f in self.path.glob("*") if f.is_file())

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

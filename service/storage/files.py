"""Store files looked at from outside a running service: read-only peeks and copies.

For tools (benchmarks) that watch or copy a store another process writes: nothing here takes
a write lock, and nothing here creates a store that is not there.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from service.storage.connection import StorageError


@dataclass(frozen=True)
class StorePeek:
    """What a store file holds at one moment."""

    articles: int
    revision: int


def _read_only(path: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout)


def peek_store(path: Path, timeout: float = 5) -> StorePeek:
    """Articles and revision of a store file, read-only; StorageError while it is locked."""
    try:
        conn = _read_only(path, timeout)
        try:
            articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            row = conn.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(str(exc)) from exc
    return StorePeek(articles, int(row[0]) if row else 0)


def stored_article_ids(path: Path) -> set[str]:
    """Every article id in a store file, read-only."""
    conn = _read_only(path, timeout=5)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM articles")}
    finally:
        conn.close()


def copy_store(source: Path, target: Path) -> int:
    """Copy a store file to `target` (made anew); returns the articles it holds.

    SQLite's backup, not a file copy: it carries what is still in the source's WAL.
    """
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        return dst.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        dst.close()
        src.close()

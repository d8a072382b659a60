"""The line index files: from a normalised line's key to the articles that say it.

The store keeps each article's line keys beside the article (one row, written in the article's
own transaction). This index turns them around, key -> articles, in a SQLite file of its own
beside the Whoosh files of the same index generation, and is kept like them: built whole by a
rebuild, in one sorted pass, and brought up to date article by article afterwards. Keeping it
out of the store's per-article transactions matters: keys are random, so each article's keys
land on as many different pages of a key-ordered table, and writing them one article at a time
costs a page per key.
"""

from __future__ import annotations

import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

from service.storage import key_filter
from service.storage.connection import open_database

# Articles per key a lookup returns: a line that many articles say is weighed by how many
# say it, and which of them is beside the point.
ARTICLES_PER_KEY = 50
# Keys per lookup statement, well under SQLite's limit on bound parameters.
LOOKUP_CHUNK = 2_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (
    key INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    issue_number INTEGER NOT NULL,
    PRIMARY KEY (key, article_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexed (
    article_id INTEGER PRIMARY KEY,
    keys BLOB NOT NULL
);
"""

# What a lookup returns per key: how many articles say it, and (article id, issue number) of
# at most ARTICLES_PER_KEY of them.
Found = dict[int, tuple[int, list[tuple[str, int]]]]


LINES_PREFIX = "lines-"


def lines_file(directory: Path, generation: str) -> Path:
    """The line index of one index generation.

    Not named `<generation>_...`: Whoosh deletes files of that shape that its table of contents
    does not list, whenever it commits.
    """
    return directory / f"{LINES_PREFIX}{generation}.sqlite3"


def _add_article(
    conn: sqlite3.Connection, table: str, article_id: int, keys: array, issues: list[int]
) -> int:
    """One article's rows into `table` (`lines`, or the staging table of a build), and its
    keys noted for when it is written again; returns the rows."""
    conn.executemany(
        f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?)",
        zip(keys, [article_id] * len(keys), issues, strict=True),
    )
    conn.execute(
        "INSERT INTO indexed(article_id, keys) VALUES (?, ?)", (article_id, keys.tobytes())
    )
    return len(keys)


# (article id, its line keys, the issue number of each), as IndexSource.iter_line_keys gives them.
ArticleKeys = Iterable[tuple[int, array, list[int]]]


def build(directory: Path, generation: str, articles: ArticleKeys) -> int:
    """Write the line index of `generation` from every article's keys; returns rows.

    Rows go into a staging table as they come and into the key-ordered table once, sorted:
    SQLite sorts them in one pass, far faster than keeping a key-ordered table in order row by
    row.
    """
    path = lines_file(directory, generation)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    # Kept for the filter, which is sized once the number of keys is known.
    all_keys: list[array] = []
    conn = open_database(path, timeout=30)
    try:
        # Small: the one big job, the sort, runs in SQLite's sorter, which spills to temporary
        # files, and a larger page cache only holds more of the file being written (on the
        # 60,000-article archive, 128 MiB took 367 MB of memory and 16.8 s, 8 MiB 126 MB and
        # 14.4 s). The build runs beside Whoosh's processes (index.py), whose peak it meets.
        conn.execute("PRAGMA cache_size = -8192")
        conn.executescript(SCHEMA)
        conn.execute("CREATE TEMP TABLE staging (key INTEGER, article_id INTEGER, issue INTEGER)")
        conn.execute("BEGIN")
        rows = 0
        for article_id, keys, issues in articles:
            rows += _add_article(conn, "staging", article_id, keys, issues)
            all_keys.append(keys)
        key_filter.write(
            key_filter.filter_path(path), (key for keys in all_keys for key in keys), rows
        )
        # An article saying a line twice (keys of two issues) keeps one row, as updates do.
        conn.execute(
            "INSERT OR IGNORE INTO lines(key, article_id, issue_number)"
            " SELECT key, article_id, issue FROM staging ORDER BY key, article_id"
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return rows


def update(
    directory: Path,
    generation: str,
    article_ids: Iterable[str],
    read_keys: Callable[[list[int]], ArticleKeys],
) -> int:
    """Bring the given articles' rows up to date: their old rows go, and the rows of the keys
    `read_keys(ids)` gives now come in (an article it does not give, deleted, drops out)."""
    path = lines_file(directory, generation)
    conn = open_database(path, timeout=30)
    try:
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        rows = 0
        added: list[int] = []
        ids = [int(a) for a in dict.fromkeys(article_ids)]
        for article_id in ids:
            old = conn.execute(
                "SELECT keys FROM indexed WHERE article_id=?", (article_id,)
            ).fetchone()
            if old is not None:
                keys = array("q")
                keys.frombytes(old[0])
                conn.executemany(
                    "DELETE FROM lines WHERE key=? AND article_id=?",
                    [(key, article_id) for key in keys],
                )
                conn.execute("DELETE FROM indexed WHERE article_id=?", (article_id,))
        for article_id, keys, issues in read_keys(ids):
            rows += _add_article(conn, "lines", article_id, keys, issues)
            added.extend(keys)
        # Before the commit: a reader that sees the rows must find their keys let through.
        key_filter.add(
            key_filter.filter_path(path), added, lambda: key_filter.line_index_keys(conn)
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return rows


def ensure_filter(directory: Path, generation: str) -> bool:
    """Make the key filter of `generation`'s line index when it has none (an index written
    before filters were); whether one was made. The caller holds the index's write lock."""
    path = lines_file(directory, generation)
    if not path.exists() or key_filter.filter_path(path).exists():
        return False
    conn = open_database(path, timeout=30)
    try:
        conn.executescript(SCHEMA)
        key_filter.add(key_filter.filter_path(path), [], lambda: key_filter.line_index_keys(conn))
    finally:
        conn.close()
    return True


class LineReader:
    """Lookups in the line index of the generation readers use now, one connection a thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._local = threading.local()
        self._filters = key_filter.FilterReader()

    def _connection(self, generation: str) -> sqlite3.Connection | None:
        """A read connection to `generation`'s line index; None when it has none (yet)."""
        current = getattr(self._local, "current", None)
        if current is not None and current[0] == generation:
            return current[1]
        if current is not None:
            current[1].close()
            self._local.current = None
        path = lines_file(self.directory, generation)
        self._local.filter = key_filter.filter_path(path)
        self._filters.forget([self._local.filter])
        if not path.exists():
            return None
        # Read-only: a generation's file deleted since the check must fail to open, not come
        # back as a new, empty database that lookups would then find no table in.
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._local.current = (generation, conn)
        self._local.counted = None  # data_version counts per connection
        return conn

    def articles_saying(
        self,
        generation: str,
        keys: Iterable[int],
        before_chunk: Callable[[], None] | None = None,
    ) -> Found:
        """For each key some article says: how many say it, and some of them.

        `before_chunk` runs before each statement: a time budget can stop a lookup between two.
        """
        conn = self._connection(generation)
        found: Found = {}
        if conn is None:
            return found
        wanted = self._filters.maybe_held(self._local.filter, keys)
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            if before_chunk is not None:
                before_chunk()
            chunk = wanted[start : start + LOOKUP_CHUNK]
            rows = conn.execute(
                "SELECT key, article_id, issue_number, total FROM ("
                " SELECT key, article_id, issue_number,"
                "  count(*) OVER (PARTITION BY key) AS total,"
                "  row_number() OVER (PARTITION BY key ORDER BY article_id) AS n"
                " FROM lines WHERE key IN (" + ",".join("?" * len(chunk)) + ")"
                ") WHERE n <= ?",
                [*chunk, ARTICLES_PER_KEY],
            )
            for key, article_id, issue_number, total in rows:
                entry = found.get(key)
                if entry is None:
                    entry = found[key] = (total, [])
                entry[1].append((str(article_id), issue_number))
        return found

    def article_count(self, generation: str) -> int:
        """How many articles `generation`'s line index holds (0 when it has no file).

        Counting 60,000 rows takes tens of milliseconds, too much for every readiness probe:
        the count is kept until SQLite says another connection changed the file.
        """
        conn = self._connection(generation)
        if conn is None:
            return 0
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        counted = getattr(self._local, "counted", None)
        if counted is not None and counted[:2] == (generation, version):
            return counted[2]
        count = conn.execute("SELECT count(*) FROM indexed").fetchone()[0]
        self._local.counted = (generation, version, count)
        return count

    def close(self) -> None:
        current = getattr(self._local, "current", None)
        if current is not None:
            current[1].close()
            self._local.current = None

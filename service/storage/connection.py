"""The database under the storage modules: a SQLite file, or a PostgreSQL database.

`Database` is what every storage module is built on. Given a path it holds a SQLite file (one
connection per thread, WAL journal); given a `postgresql://` URL, a pool of connections to that
database (service/storage/postgres.py). Either way the modules run the same SQL text through
`self._conn`, and ask `self.dialect` for the few pieces the two write differently.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.storage.postgres import PostgresConnections


class StorageError(Exception):
    """A storage file could not be read or written now (locked, busy, unwritable)."""


class StorageUnavailable(StorageError):
    """The database server cannot be reached now; a later try may succeed."""


def is_database_url(location: str | Path) -> bool:
    """Whether a store location names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class Dialect:
    """The pieces of SQL that SQLite and PostgreSQL write differently, by backend."""

    name: str
    # `lines.format(column)`: an aggregate joining a group's values, one per line.
    lines: str
    # `json_items.format(column)`: a table of a JSON array column's items, as `j(value)`.
    json_items: str


SQLITE = Dialect(
    name="sqlite",
    lines="group_concat({}, char(10))",
    json_items="json_each({}) j",
)
POSTGRESQL = Dialect(
    name="postgresql",
    lines="string_agg({}, chr(10))",
    json_items="json_array_elements_text({}::json) AS j(value)",
)


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


def placeholders(values: list) -> str:
    """`?, ?, ?` for an `IN (...)` of `values`; `NULL` for none, which nothing equals (SQLite
    reads an empty `IN ()`, PostgreSQL rejects it, and a filter can resolve to no names)."""
    return ",".join("?" * len(values)) or "NULL"


class Database:
    """One SQLite file with foreign keys on, reached through one connection per thread; or,
    given a `postgresql://` URL, one PostgreSQL database reached through a pool.

    Methods run on the calling thread's connection, so a method called inside `transaction()`
    takes part in that transaction.
    """

    def __init__(self, location: str | Path, timeout: float = 30) -> None:
        self._timeout = timeout
        self._local = threading.local()
        self._postgres: PostgresConnections | None = None
        if is_database_url(location):
            from service.storage.postgres import PostgresConnections

            self.url: str | None = str(location)
            self.path: Path | None = None
            # A request waits at most a few seconds for a connection, then is told the
            # database is unavailable, whatever `timeout` a SQLite writer would wait.
            self._postgres = PostgresConnections(self.url, timeout=min(timeout, 5.0))
            self.dialect = POSTGRESQL
        else:
            self.url = None
            self.path = Path(location)
            self.dialect = SQLITE

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        conn = open_database(self.path, timeout=self._timeout)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @property
    def _conn(self) -> Any:
        """What runs this thread's statements: `execute(sql, params)`, `executemany(sql, rows)`;
        a sqlite3 connection, or the PostgreSQL pool's stand-in for one."""
        if self._postgres is not None:
            return self._postgres
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _read_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """The rows of several statements that do not need each other's results, in order:
        sent to PostgreSQL together, in one round trip; run in turn on SQLite, where a
        statement costs no trip at all."""
        if self._postgres is not None:
            return [result.fetchall() for result in self._postgres.execute_together(statements)]
        conn = self._conn
        return [conn.execute(sql, params).fetchall() for sql, params in statements]

    @property
    def is_postgres(self) -> bool:
        return self._postgres is not None

    def close(self) -> None:
        """Close this thread's connection (another use opens a new one); for PostgreSQL, this
        process's pool."""
        if self._postgres is not None:
            self._postgres.close()
            return
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def hold_connection(self) -> None:
        """Run this thread's next statements on one connection until `release_connection`
        (a request's): SQLite's is the thread's already, PostgreSQL's is borrowed from the pool
        once rather than per statement."""
        if self._postgres is not None:
            self._postgres.hold()

    def release_connection(self) -> None:
        """End `hold_connection`: a borrowed connection goes back to the pool."""
        if self._postgres is not None:
            self._postgres.release()

    def in_transaction(self) -> bool:
        """Whether this thread is inside `transaction()`."""
        if self._postgres is not None:
            return self._postgres.in_transaction
        return bool(self._conn.in_transaction)

    def lock(self, key: str) -> None:
        """Inside a transaction, keep other writers of `key` out until it ends.

        SQLite's write transaction already holds the whole file; PostgreSQL locks rows only,
        so a writer that reads, then decides what to write (an article's old version, an
        issue's learned lines) takes a lock named after what it writes.
        """
        if self._postgres is not None:
            self._postgres.lock(key)

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """The rows of a query over the whole store, read on a connection of their own, so that
        a rebuild streaming them never holds up this thread's other statements."""
        if self._postgres is not None:
            yield from self._postgres.stream(sql, params)
            return
        conn = self._connect()
        try:
            yield from conn.execute(sql, params)
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE) on this thread's connection: committed when
        the block ends, rolled back when it raises.

        Inside another (a batch of writes) it is a savepoint: what it wrote is undone alone
        when it raises, and committed with the batch otherwise.
        """
        if self._postgres is not None:
            with self._postgres.transaction():
                yield
            return
        conn = self._conn
        if conn.in_transaction:
            with self._savepoint(conn):
                yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite ends a transaction itself on some errors (a full disk, say); a ROLLBACK
            # then would only hide the error that ended it.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    @contextmanager
    def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("SAVEPOINT piece")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO piece")
                conn.execute("RELEASE piece")
            raise
        conn.execute("RELEASE piece")

    @contextmanager
    def traced(self) -> Iterator[list[str]]:
        """The SQL statements this thread runs while the block runs, in order (for tests and
        for finding a query per row)."""
        if self._postgres is not None:
            with self._postgres.traced() as traced:
                yield traced
            return
        statements: list[str] = []
        conn = self._conn
        conn.set_trace_callback(statements.append)
        try:
            yield statements
        finally:
            conn.set_trace_callback(None)

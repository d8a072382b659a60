"""Connections to SQLite files: one per thread, WAL journal, transactions made explicit."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StorageError(Exception):
    """A storage file could not be read or written now (locked, busy, unwritable)."""


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
    """`?, ?, ?` for an `IN (...)` of `values`."""
    return ",".join("?" * len(values))


class Database:
    """One SQLite file with foreign keys on, reached through one connection per thread.

    Methods run on the calling thread's connection, so a method called inside `transaction()`
    takes part in that transaction.
    """

    def __init__(self, path: str | Path, timeout: float = 30) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        conn = open_database(self.path, timeout=self._timeout)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (another use opens a new one)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE) on this thread's connection: committed when
        the block ends, rolled back when it raises."""
        conn = self._conn
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

    @contextmanager
    def traced(self) -> Iterator[list[str]]:
        """The SQL statements this thread runs while the block runs, in order (for tests and
        for finding a query per row)."""
        statements: list[str] = []
        conn = self._conn
        conn.set_trace_callback(statements.append)
        try:
            yield statements
        finally:
            conn.set_trace_callback(None)

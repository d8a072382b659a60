"""Connections to a PostgreSQL database (psycopg 3 with a connection pool).

The storage modules write their SQL once, in the form SQLite reads (`?` and `:name`
placeholders); `postgres_sql` turns a statement into psycopg's form on its way out, so that
both backends run the same text wherever the two dialects agree. Rows come back answering to
a column's position and to its name, as `sqlite3.Row` does, so the modules read them the same
way whichever database they came from.

Outside a transaction each statement borrows a pooled connection for itself; inside
`transaction()` every statement of the thread runs on the one connection the transaction
holds. A server that cannot be reached is a `StorageUnavailable`, never a hang: the pool waits
`timeout` seconds for a connection, then gives up, and the next statement tries again, so a
process recovers on its own once the server is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, ClassVar

import psycopg
from psycopg import pq
from psycopg_pool import ConnectionPool, PoolTimeout

from service.storage.connection import StorageUnavailable

log = logging.getLogger(__name__)

# Rows a streamed read (a whole-store scan) fetches from the server at a time.
STREAM_ROWS = 2_000
# The key of the session lock that lets one process at a time bring the schema up to date.
MIGRATION_LOCK = zlib.crc32(b"kb-service schema migrations")

# Pools made in a parent process before a fork: the child must neither use nor close them
# (their sockets are the parent's), so they are kept here, referenced, for the process's life.
_INHERITED: list[ConnectionPool] = []

# A string literal (kept, its percent signs doubled), a `?`, a `:name` (not the second colon of
# a `::` cast), or a lone percent sign, which psycopg would read as a placeholder.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\?|(?<![:\w]):[A-Za-z_]\w*|%")


def _swap(match: re.Match[str]) -> str:
    token = match.group(0)
    if token.startswith("'"):
        return token.replace("%", "%%")
    if token == "?":
        return "%s"
    if token == "%":
        return "%%"
    return f"%({token[1:]})s"


@lru_cache(maxsize=4096)
def postgres_sql(sql: str) -> str:
    """A statement written with SQLite's placeholders, in psycopg's: `?` -> `%s`,
    `:name` -> `%(name)s`, `%` -> `%%`."""
    return _TOKENS.sub(_swap, sql)


class Row(tuple):
    """A row read by position (`row[0]`, unpacking) or by column name (`row["id"]`, `dict(row)`)."""

    __slots__ = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            key = self._index[key]
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@lru_cache(maxsize=1024)
def _row_class(names: tuple[bytes, ...]) -> type[Row]:
    # One class per shape of result: the names live on the class, not in every row. Keyed by
    # the names as the server sends them (the schema's names are ASCII).
    index = {name.decode(): i for i, name in enumerate(names)}
    return type("Row", (Row,), {"__slots__": (), "_index": index})


# What a statement that returns rows ends with: its result has columns, or says it has rows.
_ROWS_STATUSES = frozenset(
    getattr(pq.ExecStatus, name)
    for name in ("TUPLES_OK", "SINGLE_TUPLE", "TUPLES_CHUNK")
    if hasattr(pq.ExecStatus, name)
)


def _returns_rows(result: pq.abc.PGresult | None) -> bool:
    """Whether a result is one of rows, as psycopg's `cursor.description` tells, without the
    column descriptions that property builds at every call (a good part of what a short
    statement costs in the app)."""
    return result is not None and bool(result.nfields or result.status in _ROWS_STATUSES)


def _rows(cursor: Any) -> Any:
    """psycopg's row factory: rows of the `Row` class of this result's columns."""
    result = cursor.pgresult
    if not _returns_rows(result):
        return tuple
    return _row_class(tuple(result.fname(i) for i in range(result.nfields)))


class Result:
    """What a statement gave back, read whole: rows (for a query) and rows affected."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    @classmethod
    def of(cls, cursor: Any) -> Result:
        """What an executed cursor gave back: its rows, if its statement returns any."""
        return cls(cursor.fetchall() if _returns_rows(cursor.pgresult) else [], cursor.rowcount)

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)


def _unavailable(exc: Exception) -> StorageUnavailable:
    return StorageUnavailable(f"The database cannot be reached: {exc}".strip())


class StatementTrace(list):
    """Statements as `traced` saw them, in order; `trips` the same grouped by round trip to
    the server (statements sent together make one)."""

    def __init__(self) -> None:
        super().__init__()
        self.trips: list[tuple[str, ...]] = []


class PostgresConnections:
    """A pool of connections to one database, made again in each process that uses it."""

    def __init__(self, url: str, *, timeout: float = 5.0, max_size: int = 8) -> None:
        self.url = url
        self._timeout = timeout
        self._max_size = max_size
        self._pool: ConnectionPool | None = None
        self._pool_pid = 0
        self._pool_lock = threading.Lock()
        self._local = threading.local()

    # -- the pool -----------------------------------------------------------------------------

    @property
    def pool(self) -> ConnectionPool:
        """This process's pool, opened at first use (and again in a forked child)."""
        pool = self._pool
        if pool is not None and self._pool_pid == os.getpid():
            return pool
        with self._pool_lock:
            if self._pool is not None and self._pool_pid != os.getpid():
                _INHERITED.append(self._pool)
                self._pool = None
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self._max_size,
                    # Single statements commit at once, as SQLite's autocommit mode does;
                    # `transaction()` opens a transaction explicitly.
                    kwargs={"autocommit": True, "row_factory": _rows},
                    timeout=self._timeout,
                    # A server that is down makes the pool try again and again in the
                    # background; what a request sees is the `timeout` above.
                    reconnect_timeout=0,
                    open=True,
                    name="kb-store",
                )
                self._pool_pid = os.getpid()
            return self._pool

    def close(self) -> None:
        """Close this process's connections (another use opens the pool again)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection for one piece of work; unreachable servers become
        StorageUnavailable. A connection found broken is dropped by the pool, not reused."""
        try:
            with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise _unavailable(exc) from exc
        except psycopg.OperationalError as exc:
            self._drop_broken()
            raise _unavailable(exc) from exc
        except StorageUnavailable:
            # A statement's own failure, already told as unavailable (`_run`, `transaction`).
            self._drop_broken()
            raise

    def _drop_broken(self) -> None:
        """After a connection failed, test the idle others: when the server restarted, all of
        them are broken, and each would otherwise fail the next piece of work given it."""
        with contextlib.suppress(Exception):
            self.pool.check()

    # -- statements ---------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    def _trace(self, *sqls: str) -> None:
        """Note statements sent to the server in one round trip, when `traced` asks."""
        trace = getattr(self._local, "trace", None)
        if trace is not None:
            trace.extend(sqls)
            trace.trips.append(sqls)

    def hold(self) -> None:
        """Until `release`, run this thread's statements outside a transaction on one pooled
        connection, borrowed at the first of them.

        A request reads a record in a dozen statements: checking a connection out of the pool
        and back in for each costs about as much as running it.
        """
        self._local.hold = True

    def release(self) -> None:
        """Give back the connection `hold` borrowed, if a statement borrowed one."""
        self._local.hold = False
        held = getattr(self._local, "held", None)
        if held is not None:
            self._local.held = None
            self._give_back(held)

    def _give_back(self, conn: psycopg.Connection) -> None:
        # The pool checks what it is given back, and drops a connection found broken; one
        # made by a pool since closed is closed with it.
        pool = self._pool
        if pool is not None and self._pool_pid == os.getpid() and not pool.closed:
            with contextlib.suppress(Exception):
                pool.putconn(conn)
                return
        with contextlib.suppress(Exception):
            conn.close()

    def _on_held(self, work: Callable[[psycopg.Connection], Any]) -> Any:
        """`work` on the held connection; when that proves broken (the server restarted),
        once more on another."""
        for attempt in (1, 2):
            held = getattr(self._local, "held", None)
            if held is None:
                try:
                    held = self.pool.getconn()
                except PoolTimeout as exc:
                    raise _unavailable(exc) from exc
                self._local.held = held
            try:
                return work(held)
            except StorageUnavailable:
                self._local.held = None
                self._give_back(held)
                self._drop_broken()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _perform(self, work: Callable[[psycopg.Connection], Any]) -> Any:
        """`work` on the connection this thread's statements run on now: its transaction's,
        the one `hold` keeps, or one borrowed from the pool for it alone."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return work(conn)
        if getattr(self._local, "hold", False):
            return self._on_held(work)
        # Outside a transaction a statement may run again on another connection: after the
        # server restarts, every pooled connection is broken, and the first use finds out.
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    return work(conn)
            except StorageUnavailable as exc:
                # No connection to be had at all: a second wait would only double the time a
                # client waits for its 503.
                if attempt == 2 or isinstance(exc.__cause__, PoolTimeout):
                    raise
        raise AssertionError("unreachable")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Result:
        """Run one statement (SQLite's placeholders) and read its result whole."""
        self._trace(sql)
        query = postgres_sql(sql)
        return self._perform(lambda conn: self._run(conn, query, params))

    def execute_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[Result]:
        """Run statements that do not depend on each other's results in one round trip
        (psycopg's pipeline mode) and read each result whole, in order.

        A record read is a handful of statements: sent one after another, each waits for the
        server's answer, and on a busy machine for the server process to be given a core.
        """
        self._trace(*(sql for sql, _ in statements))
        queries = [(postgres_sql(sql), params) for sql, params in statements]
        return self._perform(lambda conn: self._run_together(conn, queries))

    def executemany(self, sql: str, rows: Any) -> None:
        """Run one statement for each of `rows` (sent together, in one round trip's pipeline)."""
        rows = list(rows)
        if not rows:
            return
        self._trace(sql)
        query = postgres_sql(sql)
        conn = getattr(self._local, "conn", None)
        try:
            if conn is not None:
                with conn.cursor() as cursor:
                    cursor.executemany(query, rows)
                return
            with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(query, rows)
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc

    @staticmethod
    def _run(conn: psycopg.Connection, query: str, params: Any) -> Result:
        try:
            return Result.of(conn.execute(query, params))
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc

    @staticmethod
    def _run_together(
        conn: psycopg.Connection, queries: list[tuple[str, Sequence[Any]]]
    ) -> list[Result]:
        try:
            with conn.pipeline():
                cursors = [conn.execute(query, params) for query, params in queries]
            return [Result.of(cursor) for cursor in cursors]
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Any]:
        """Rows of a query over the whole store, fetched a few thousand at a time through a
        server-side cursor on a connection of their own."""
        with (
            self._connection() as conn,
            conn.transaction(),
            conn.cursor(name="kb_stream") as cursor,
        ):
            cursor.itersize = STREAM_ROWS
            cursor.execute(postgres_sql(sql), params)
            yield from cursor

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction on one pooled connection: committed when the block ends, rolled
        back when it raises. Statements of this thread run in it until then. Inside another
        (a batch of writes) it is a savepoint, undone alone when it raises."""
        outer = getattr(self._local, "conn", None)
        if outer is not None:
            try:
                with outer.transaction():
                    yield
            except psycopg.OperationalError as exc:
                raise _unavailable(exc) from exc
            return
        with self._connection() as conn:
            self._local.conn = conn
            try:
                with conn.transaction():
                    yield
            except psycopg.OperationalError as exc:
                raise _unavailable(exc) from exc
            finally:
                self._local.conn = None

    def lock(self, key: str) -> None:
        """Hold a lock on `key` until this thread's transaction ends: writers of one article
        (or one issue's learned lines) on any node wait for each other, writers of others
        do not."""
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))

    @contextmanager
    def traced(self) -> Iterator[StatementTrace]:
        """The statements this thread runs while the block runs, in order, and the round trips
        they took."""
        trace = StatementTrace()
        self._local.trace = trace
        try:
            yield trace
        finally:
            self._local.trace = None

    # -- schema -------------------------------------------------------------------------------

    def migrate(self, migrations: Sequence[tuple[int, str]]) -> list[int]:
        """Apply the migrations this database has not had yet, in order, each in its own
        transaction; returns the versions applied.

        A session lock lets one process at a time do it: nodes starting together wait for the
        first, then find nothing left to do.
        """
        applied: list[int] = []
        with self._connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
                for version, script in migrations:
                    if version in done:
                        continue
                    with conn.transaction():
                        conn.execute(script)
                        conn.execute(
                            "INSERT INTO schema_migrations(version) VALUES (%s)", (version,)
                        )
                    applied.append(version)
                    log.info("database schema brought to version %d", version)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
        return applied

    def has_table(self, name: str) -> bool:
        """Whether a table of that name is on the connection's search path."""
        row = self.execute("SELECT to_regclass(?) IS NOT NULL AS found", (name,)).fetchone()
        return bool(row["found"])

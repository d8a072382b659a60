"""A throw-away PostgreSQL server for the tests, from the machine's own binaries.

`initdb` makes a cluster in a temporary directory, `pg_ctl` starts it on a free port of
127.0.0.1 with its socket in that directory, and stops it at the end. PostgreSQL refuses to run
as root, so as root every command runs as the `postgres` system user, which owns the directory.
Each store a test makes is a schema of its own in one database (`new_store_url`), which is far
quicker to make and drop than a database.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Debian puts the server's programs beside its version, not on PATH.
DEBIAN_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
DATABASE = "kbtest"


def find_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    for directory in DEBIAN_BINARIES:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One cluster in a temporary directory, running until `stop`."""

    def __init__(self, binaries: Path, *, crash_safe: bool = False) -> None:
        self.binaries = binaries
        # Commits that survive the server being killed (`restart`): each waits for its WAL to
        # be written out, as on a real server. Otherwise commits return before that.
        self.crash_safe = crash_safe
        self.root = Path(tempfile.mkdtemp(prefix="kb-postgres-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._schemas = itertools.count(1)
        self._as_root = os.geteuid() == 0
        self.user = "postgres" if self._as_root else pwd.getpwuid(os.geteuid()).pw_name
        if self._as_root:
            # The server's user must own its directory, and reach it: the temporary root is
            # private to root by default.
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.root.chmod(0o700)

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> None:
        done = self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        # Durability is the cluster's business, not what these tests check: without fsync a
        # test run writes far less to a shared disk.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c fsync=off -c full_page_writes=off -c max_connections=300"
        )
        if not self.crash_safe:
            options += " -c synchronous_commit=off"
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace") if self.root else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}\n{log}")
        self.admin(f"CREATE DATABASE {DATABASE}", database="postgres")

    def restart(self) -> None:
        """Kill the server (as a crash would: no checkpoint, sessions cut) and start it again
        on the same data, port and options."""
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-m", "immediate",
            "-w", "-t", "60", "restart",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl restart failed: {done.stderr or done.stdout}")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str, database: str = DATABASE) -> None:
        """Run one statement as the cluster's superuser."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self, name: str) -> str:
        """The URL of a database of its own, made empty (dropped first if a run left it)."""
        self.admin(f"DROP DATABASE IF EXISTS {name}", database="postgres")
        self.admin(f"CREATE DATABASE {name}", database="postgres")
        return self.url(name)

    @contextlib.contextmanager
    def unreachable(self, name: str) -> Iterator[None]:
        """While the block runs, database `name` refuses connections and its open sessions are
        cut: an outage as its clients see it, over when the block ends."""
        self.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false", database="postgres")
        try:
            self.admin(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
                database="postgres",
            )
            yield
        finally:
            self.admin(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true", database="postgres")

    def new_store_url(self) -> str:
        """The URL of a new, empty store: a schema of its own, first on the search path."""
        schema = f"store_{next(self._schemas)}"
        self.admin(f"CREATE SCHEMA {schema}")
        return f"{self.url()}?options=-csearch_path%3D{schema}"

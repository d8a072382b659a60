"""What many test modules need: a knowledge base of their own, an app over it, a free port."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask

from service import create_app
from service.config import PROJECT_ROOT, Config

FIXTURES = Path(__file__).parent / "fixtures"
SEED_TEXT = FIXTURES / "KB264630.txt"

# While a test runs against PostgreSQL (the `backend` fixture of conftest.py), the maker of a
# new, empty store's database URL: every knowledge base a test makes gets a store of its own
# there, as it gets a KB_HOME of its own. None: stores are SQLite files under KB_HOME.
new_store_url: Callable[[], str] | None = None


def store_location(root: Path) -> str | Path:
    """Where a test's own store goes: a new PostgreSQL store, or a file under root."""
    return new_store_url() if new_store_url is not None else root / "kb.sqlite3"


def outside_sql(location: str | Path, statement: str) -> list[tuple]:
    """Run one statement on a store or activity log from outside, as another program would
    (SQLite with foreign keys on, or psycopg); its rows."""
    if isinstance(location, str):
        import psycopg

        with psycopg.connect(location) as pg:
            cursor = pg.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    with contextlib.closing(sqlite3.connect(location)) as conn, conn:
        conn.execute("PRAGMA foreign_keys = ON")
        return conn.execute(statement).fetchall()


def make_config(root: Path, *, with_test_articles: bool = True, **overrides: Any) -> Config:
    """A configuration whose KB_HOME and kb_data (curated seed, test articles) live under root."""
    data = root / "kb_data"
    data.mkdir(parents=True, exist_ok=True)
    for path in (PROJECT_ROOT / "kb_data").glob("*.yaml"):
        shutil.copy(path, data)
    if with_test_articles:
        for path in FIXTURES.glob("*.yaml"):
            shutil.copy(path, data)
    # No time budget unless a test sets one: answers must not depend on how busy the machine
    # running the tests is (tests/test_paste_limits.py tests the budget itself).
    overrides.setdefault("match_budget_ms", 0)
    if new_store_url is not None:
        overrides.setdefault("database_url", new_store_url())
    return Config(kb_home=root / "home", kb_data=data, **overrides)


@contextmanager
def running_app(config: Config, **settings: Any) -> Iterator[Flask]:
    """The app over `config` with these settings changed; its knowledge base closed afterwards."""
    for name, value in settings.items():
        setattr(config, name, value)
    app = create_app(config)
    app.config["TESTING"] = True
    try:
        yield app
    finally:
        app.extensions["kb"].close()


def started(make_app, root: Path, **settings: Any) -> tuple[Config, Flask, Any]:
    """A knowledge base of its own under root, with these settings: (config, app, client)."""
    config = make_config(root)
    app = make_app(config, **settings)
    return config, app, app.test_client()


def built_then_stored_only(root: Path, document: dict, source: str) -> Config:
    """A knowledge base under root, built, then given an article its store has and its index
    does not: as when a process dies after the store committed and before the index caught
    up. Its configuration."""
    from service.kb import KnowledgeBase

    config = make_config(root)
    knowledge = KnowledgeBase(config)
    knowledge.build()
    knowledge.store.save_article(document, source=source)
    knowledge.close()
    return config


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers=None):
    """One HTTP request to 127.0.0.1:port: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_ready(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Wait until the server on `port` answers /readyz with 200; fail with its log if the
    process ends or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(OSError):
            if request(port, "GET", "/readyz")[0] == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{process.args[:4]} did not start: " + read_log(log))
        time.sleep(0.1)


def read_log(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else "(no log)"


def stop_group(process: subprocess.Popen) -> None:
    """Kill a process that leads its own group, and everything in the group, then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def kb_serve(config: Config, root: Path, **env: str) -> Iterator[int]:
    """`kb serve` with two workers on a free port over `config`'s store and curated articles,
    with `env` added, logging to `root/serve.log`: its port once ready; stopped (SIGTERM, as an
    operator stops it) afterwards."""
    port = free_port()
    environment = dict(os.environ, KB_HOME=str(config.kb_home), KB_DATA=str(config.kb_data), **env)
    argv = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"]
    with serving(argv, port, environment, root / "serve.log"):
        yield port


@contextmanager
def serving(
    argv: list[str], port: int, environment: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen]:
    """`argv` run from the project's root as a server on `port`, logging to `log_path`: its
    process once the server is ready; stopped (SIGTERM to its group, as an operator stops it)
    afterwards."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            argv,
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(port, process, log_path)
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def widget_article(number: str, line: str) -> dict:
    """A minimal article record whose only text is `line` in its summary."""
    return {
        "id": number,
        "aliases": [],
        "title": f"Widget article {number}",
        "applies_to": [],
        "keywords": [],
        "issues": [{"id": f"{number}-1", "number": 1, "title": "Widget issue", "description": ""}],
        "symptoms": [],
        "causes": [],
        "workarounds": [],
        "related": [],
        "sections": [{"key": "summary", "heading": "SUMMARY", "body": line}],
    }

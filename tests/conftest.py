"""Fixtures: a knowledge base built from kb_data plus test articles, the app and its client;
a throw-away PostgreSQL server, and the two backends a storage test runs against."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask

from service.config import Config
from tests import helpers
from tests.helpers import make_config, running_app, stop_group
from tests.postgres import PostgresServer, find_binaries


def _missing(message: str) -> None:
    """Skip a PostgreSQL test the machine cannot run; fail it when CI requires it to run."""
    if os.environ.get("KB_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{message} (KB_REQUIRE_POSTGRES=1)")
    pytest.skip(message)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL run of a test marked `sqlite_only` (one about SQLite files):
    not skipped, since it has nothing to say about PostgreSQL."""
    kept, left_out = [], []
    for item in items:
        runs_postgres = "[postgresql" in item.nodeid or "-postgresql" in item.nodeid
        if runs_postgres and item.get_closest_marker("sqlite_only"):
            left_out.append(item)
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the session's own, stopped and deleted at the end."""
    yield from _postgres_server()


@pytest.fixture()
def restartable_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, which it may kill and start again (no other
    test's connections are cut), its commits written out before they are acknowledged."""
    yield from _postgres_server(crash_safe=True)


def _postgres_server(crash_safe: bool = False) -> Iterator[PostgresServer]:
    binaries = find_binaries()
    if binaries is None:
        _missing("PostgreSQL is not installed (no initdb/pg_ctl); `make test` installs it")
    server = PostgresServer(binaries, crash_safe=crash_safe)  # type: ignore[arg-type]
    try:
        server.start()
    except Exception as exc:
        server.stop()
        _missing(f"PostgreSQL could not be started: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a module's tests once with SQLite stores and once with PostgreSQL ones: while it is
    "postgresql", every knowledge base a test makes (`make_config`) has its store there.

    Module-scoped, so that a module's own shared fixtures (an app built once) can take it and
    are made again for the other backend."""
    if request.param == "postgresql":
        helpers.new_store_url = request.getfixturevalue("postgres").new_store_url
    try:
        yield request.param
    finally:
        helpers.new_store_url = None


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="session")
def app(config: Config) -> Iterator[Flask]:
    """One app for the session's read-only tests: nothing may write to it."""
    with running_app(config) as app:
        yield app


@pytest.fixture(scope="module")
def backend_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A read-only app like `app`, made for one module over each backend's store in turn: a
    module whose read tests touch the store names it as its own `app`."""
    with running_app(make_config(tmp_path_factory.mktemp(f"kb-{backend}"))) as app:
        yield app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def fresh_config(tmp_path: Path) -> Config:
    """A knowledge base of its own, for tests that write."""
    return make_config(tmp_path)


@pytest.fixture()
def spawned() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts, each leading its own group: all killed at teardown."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        stop_group(process)


@pytest.fixture()
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build writable apps over this test's own knowledge base (or a given configuration),
    with settings changed: `make_app(api_tokens=[...])`. Two calls with one configuration are
    two workers sharing one KB_HOME. All are closed after the test."""
    with ExitStack() as stack:

        def make(config: Config | None = None, **settings) -> Flask:
            return stack.enter_context(running_app(config or make_config(tmp_path), **settings))

        yield make

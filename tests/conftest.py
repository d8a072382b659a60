"""Fixtures: a knowledge base built from kb_data plus test articles, the app and its client."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask import Flask

from service.config import Config
from tests.helpers import make_config, running_app, stop_group


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="session")
def app(config: Config) -> Iterator[Flask]:
    """One app for the session's read-only tests: nothing may write to it."""
    with running_app(config) as app:
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

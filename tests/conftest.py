"""Fixtures: a knowledge base built from kb_data plus test articles, the app and its client."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service import create_app
from service.config import PROJECT_ROOT, Config

FIXTURES = Path(__file__).parent / "fixtures"
SEED_TEXT = FIXTURES / "KB264630.txt"


def make_config(root: Path, *, with_test_articles: bool = True, **overrides) -> Config:
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
    return Config(kb_home=root / "home", kb_data=data, **overrides)


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_config(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="session")
def app(config: Config):
    app = create_app(config)
    app.config["TESTING"] = True
    yield app
    app.extensions["kb"].close()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def fresh_config(tmp_path: Path) -> Config:
    """A knowledge base of its own, for tests that write."""
    return make_config(tmp_path)

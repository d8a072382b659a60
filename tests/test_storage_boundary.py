"""Only service/storage/ speaks SQL: no other module of the service, the schemas or the
benchmarks imports sqlite3, runs a statement or holds one in a string."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from service.config import PROJECT_ROOT

STORAGE = PROJECT_ROOT / "service" / "storage"
# Statements as this project writes them: keywords in capitals (prose says "select" or
# "delete from the index" in lower case, and is not caught).
SQL = re.compile(
    r"\bSELECT\b.+\bFROM\b"
    r"|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b"
    r"|\bUPDATE\s+\w+\s+SET\b"
    r"|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(?:VIRTUAL\s+|TEMP\s+|UNIQUE\s+)?(?:TABLE|INDEX)\b",
    re.DOTALL,
)
RUNS_SQL = {"execute", "executemany", "executescript"}


def sql_uses(source: str, name: str = "<source>") -> list[str]:
    """Where `source` imports sqlite3, calls a statement-running method or quotes SQL."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        line = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            if any(alias.name.split(".")[0] == "sqlite3" for alias in node.names):
                found.append(f"{line} imports sqlite3")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] == "sqlite3":
                found.append(f"{line} imports from sqlite3")
        elif isinstance(node, ast.Attribute) and node.attr in RUNS_SQL:
            found.append(f"{line} calls .{node.attr}()")
        elif isinstance(node, ast.JoinedStr):
            # An f-string's parts joined again, so a statement split by a field is still seen.
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
            if SQL.search(text):
                found.append(f"{line} holds SQL in an f-string")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL.search(node.value)
        ):
            found.append(f"{line} holds SQL")
    return found


def checked_files() -> list[Path]:
    files = [
        *sorted((PROJECT_ROOT / "service").rglob("*.py")),
        *sorted((PROJECT_ROOT / "schemas").rglob("*.py")),
        *sorted((PROJECT_ROOT / "bench").rglob("*.py")),
    ]
    return [path for path in files if STORAGE not in path.parents]


def test_no_module_outside_storage_runs_sql() -> None:
    offences = [
        use
        for path in checked_files()
        for use in sql_uses(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT)))
    ]
    assert offences == []


def test_the_files_checked_include_every_caller_of_the_store() -> None:
    names = {str(path.relative_to(PROJECT_ROOT)) for path in checked_files()}
    for caller in (
        "service/learning.py",
        "service/matching/answer.py",
        "service/matching/explain.py",
        "service/index.py",
    ):
        assert caller in names
    assert "bench/load.py" in names
    assert not any(name.startswith("service/storage/") for name in names)


@pytest.mark.parametrize(
    "source",
    [
        "import sqlite3\n",
        "from sqlite3 import connect\n",
        "conn.execute('PRAGMA data_version')\n",
        "run = conn.executemany\n",
        "conn.executescript(script)\n",
        "q = 'SELECT id\\n FROM articles'\n",
        "q = f'SELECT {column} FROM {table} ORDER BY id'\n",
        "q = 'INSERT OR IGNORE INTO lines VALUES (?, ?)'\n",
        "q = ('UPDATE feedback' ' SET status=?')\n",
        "q = 'DELETE FROM matches WHERE created_at < ?'\n",
        "q = 'CREATE TABLE IF NOT EXISTS meta (key TEXT)'\n",
    ],
)
def test_every_kind_of_sql_use_is_caught(source: str) -> None:
    assert sql_uses(source)


@pytest.mark.parametrize(
    "source",
    [
        '"""Select the articles from the store; delete from the index what went."""\n',
        "selected = store.search_articles(words, limit=5)\n",
        "path = home / 'kb.sqlite3'\n",
        "text = 'UPDATE: the agent was restarted'\n",
    ],
)
def test_prose_and_store_calls_are_not_sql(source: str) -> None:
    assert sql_uses(source) == []


def test_the_storage_package_itself_is_where_the_sql_is() -> None:
    for name in ("records.py", "articles.py", "feedback.py", "activity.py", "lines.py"):
        assert sql_uses((STORAGE / name).read_text(encoding="utf-8"), name)

"""Two `kb serve` nodes on one PostgreSQL store, over HTTP: what `make cluster-test` checks,
on a few hundred articles of the SMS archive (bench/cluster.py says what each step does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cluster import CONVERGE_SECONDS, run
from bench.serving import SMS_ARCHIVE
from tests.postgres import PostgresServer

ARTICLES = 300


@pytest.mark.cluster
@pytest.mark.skipif(not SMS_ARCHIVE.exists(), reason=f"the SMS archive is not at {SMS_ARCHIVE}")
def test_two_nodes_answer_alike_and_lose_no_acknowledged_write(
    restartable_postgres: PostgresServer, tmp_path: Path
) -> None:
    server = restartable_postgres
    report = run(server.new_store_url(), tmp_path, ARTICLES, restart_database=server.restart)
    assert report.failures == [], report.failures
    assert report.articles_imported == ARTICLES
    # Every imported article's paste was asked of both nodes, and nearly all were matched.
    assert report.pastes_compared == ARTICLES
    assert report.pastes_matched >= 0.9 * ARTICLES
    assert report.answers_differing == []
    # A node over a SQLite store the same articles went into answers them alike.
    assert report.sqlite_compared == ARTICLES
    assert report.sqlite_differing == []
    assert report.put_matched_on_b_seconds is not None
    assert report.put_matched_on_b_seconds <= CONVERGE_SECONDS
    assert report.feedback_counted_on_b
    # PostgreSQL killed and started again during an import: nothing acknowledged is lost, and
    # both nodes take writes again without being restarted.
    assert report.restart_acknowledged > 0
    assert report.restart_lost == []
    assert report.killed_after_acknowledged > 0
    assert report.acknowledged_lost == []
    assert report.a_restarted_ready

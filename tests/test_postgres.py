"""The store in PostgreSQL: what only a shared database has to get right.

Many nodes write one database at once: migrations must run once, concurrent saves of one
article must neither lose nor double it, every write must get a revision of its own with none
skipped, and a database that cannot be reached must be a 503 the service recovers from.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import yaml

from schemas.records import load_article_document
from service.config import PROJECT_ROOT, Config
from service.storage import Store
from service.storage.connection import StorageUnavailable
from service.storage.postgres import PostgresConnections, postgres_sql
from service.storage.schema import POSTGRES_MIGRATIONS
from tests.helpers import make_config, outside_sql, widget_article
from tests.postgres import PostgresServer


@pytest.fixture()
def store_url(postgres: PostgresServer) -> str:
    return postgres.new_store_url()


@pytest.fixture()
def stores(store_url: str):
    """Stores over one database, as two nodes would hold them; closed after the test."""
    made: list[Store] = []

    def make() -> Store:
        made.append(Store(store_url))
        return made[-1]

    yield make
    for store in made:
        store.close()


def _seed() -> dict:
    return load_article_document(yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text()))


def _at_once(*work: Callable[[], object]) -> list[object]:
    """Run each piece of work on a thread of its own, started together; their results."""
    results: list[object] = [None] * len(work)
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work[i]()
        except BaseException as exc:  # handed to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT id FROM articles WHERE id=?", "SELECT id FROM articles WHERE id=%s"),
        ("VALUES (:id, :text)", "VALUES (%(id)s, %(text)s)"),
        ("SELECT ?::text[]", "SELECT %s::text[]"),
        ("WHERE title LIKE '%?%' AND id=?", "WHERE title LIKE '%%?%%' AND id=%s"),
        ("SELECT 'a:b', 100 % 7", "SELECT 'a:b', 100 %% 7"),
    ],
)
def test_statements_are_written_once_and_sent_in_psycopgs_placeholders(
    sqlite: str, postgres: str
) -> None:
    assert postgres_sql(sqlite) == postgres


def test_migrations_run_once_however_many_nodes_start_together(stores) -> None:
    nodes = [stores() for _ in range(3)]
    _at_once(*(node.initialise for node in nodes))
    assert nodes[0].exists()
    versions = outside_sql(nodes[0].url, "SELECT version FROM schema_migrations")
    assert sorted(v for (v,) in versions) == [v for v, _ in POSTGRES_MIGRATIONS]
    assert nodes[1]._postgres.migrate(POSTGRES_MIGRATIONS) == []  # nothing left to do


def test_two_nodes_saving_one_article_at_once_neither_lose_nor_double_it(stores) -> None:
    first, second = stores(), stores()
    first.initialise()
    seed = _seed()
    writes = _at_once(
        lambda: first.save_article(seed, source="api"),
        lambda: second.save_article(copy.deepcopy(seed), source="api"),
    )
    assert sorted(w.outcome for w in writes) == ["created", "unchanged"]  # type: ignore[attr-defined]
    assert first.count("articles") == 1
    assert first.count("symptoms") == len(seed["symptoms"])
    assert first.revision() == 1


def test_concurrent_writes_get_revisions_of_their_own_in_commit_order(stores) -> None:
    nodes = [stores() for _ in range(3)]
    nodes[0].initialise()

    def write(node: Store, numbers: range) -> list[int]:
        revisions = []
        for number in numbers:
            article = widget_article(str(number), f"widget {number} stopped")
            revisions.append(node.save_article(article, source="api").revision)
            if number % 3 == 0:
                revisions.append(node.delete_article(str(number)).revision)  # type: ignore[union-attr]
        return revisions

    work = [
        lambda n=n, i=i: write(n, range(700000 + i * 100, 700000 + i * 100 + 30))
        for i, n in enumerate(nodes)
    ]
    handed_out = _at_once(*work)
    revisions = sorted(r for batch in handed_out for r in batch)  # type: ignore[union-attr]
    assert revisions == list(range(1, len(revisions) + 1))
    assert nodes[1].revision() == len(revisions)
    # The write log says which article each of them wrote, with no revision missing.
    assert nodes[2].articles_written_since(0, len(revisions), limit=10_000) is not None
    assert nodes[0].count("articles") == 3 * 30 - 3 * 10


def test_two_reviewers_apply_one_verdict_once(
    make_app, postgres: PostgresServer, tmp_path: Path
) -> None:
    from service.learning import AlreadyReviewed, record_feedback, review_feedback

    config = make_config(tmp_path, database_url=postgres.new_store_url())
    app = make_app(config)
    store = app.extensions["kb"].store
    outcome = record_feedback(
        store,
        issue_id="264630-1",
        article_id="264630",
        helpful=True,
        evidence=[],
        lessons=["copylog widget sync stalled at the relay"],
        request_id=None,
        comment=None,
        client="client-a",
    )
    feedback_id = outcome.feedback["id"]
    reviewers = [Store(config.database_url), Store(config.database_url)]

    def review(reviewer: Store) -> str:
        try:
            review_feedback(reviewer, feedback_id, approve=True)
        except AlreadyReviewed:
            return "already reviewed"
        return "applied"

    try:
        assert sorted(_at_once(*[lambda r=r: review(r) for r in reviewers])) == [
            "already reviewed",
            "applied",
        ]
    finally:
        for reviewer in reviewers:
            reviewer.close()
    assert len(store.learned_symptoms("264630-1")) == 1


def test_an_unreachable_database_is_a_503_problem_and_the_service_recovers(
    make_app, postgres: PostgresServer, tmp_path: Path
) -> None:
    database = "outage"
    app = make_app(make_config(tmp_path, database_url=postgres.new_database(database)))
    client = app.test_client()
    assert client.get("/v1/articles/264630").status_code == 200
    with postgres.unreachable(database):
        down = client.get("/v1/articles/264630")
        assert down.status_code == 503
        assert down.mimetype == "application/problem+json"
        assert down.get_json()["title"] == "Service unavailable"
        assert "database" in down.get_json()["detail"]
        assert down.headers["Retry-After"]
        assert client.get("/readyz").status_code == 503
    # Back without a restart: the next request connects again.
    assert client.get("/v1/articles/264630").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_after_the_server_restarts_one_piece_of_work_fails_not_one_per_pooled_connection(
    restartable_postgres: PostgresServer,
) -> None:
    connections = PostgresConnections(restartable_postgres.new_store_url(), max_size=4)
    try:
        # Four connections in the pool, all idle: what a worker holds after a busy moment.
        gate = threading.Barrier(4)

        def busy() -> int:
            with connections.transaction():
                gate.wait(10)
                return connections.execute("SELECT 1 AS one").fetchone()["one"]

        assert _at_once(busy, busy, busy, busy) == [1, 1, 1, 1]
        restartable_postgres.restart()
        outcomes = []
        for _ in range(4):
            try:
                with connections.transaction():
                    connections.execute("SELECT 1")
                outcomes.append("done")
            except StorageUnavailable:
                outcomes.append("503")
        # The first failure tests the idle connections, and the broken ones are dropped.
        assert outcomes.count("503") <= 1
        assert outcomes[-1] == "done"
    finally:
        connections.close()


def _backend(connections: PostgresConnections, together: bool = False) -> int:
    """The server process running the statement, sent alone or as statements sent together."""
    sql = "SELECT pg_backend_pid() AS pid"
    if together:
        (result,) = connections.execute_together([(sql, ())])
        return result.fetchone()["pid"]
    return connections.execute(sql).fetchone()["pid"]


def test_a_held_connection_serves_the_threads_statements_until_given_back(
    postgres: PostgresServer,
) -> None:
    connections = PostgresConnections(postgres.new_store_url(), timeout=0.5, max_size=1)
    try:
        connections.hold()
        first = _backend(connections)
        assert {_backend(connections) for _ in range(5)} == {first}
        # The pool's one connection stays with the holder: another thread waits, then is told.
        with pytest.raises(AssertionError, match="StorageUnavailable"):
            _at_once(lambda: _backend(connections))
        connections.release()
        assert _at_once(lambda: _backend(connections)) == [first]
        # Released, the thread borrows per statement again, and gives each connection back.
        assert _backend(connections) == first
        assert _at_once(lambda: _backend(connections)) == [first]
    finally:
        connections.close()


@pytest.mark.parametrize("together", [False, True], ids=["alone", "together"])
def test_a_held_connection_broken_by_a_server_restart_is_replaced_by_the_next_statement(
    restartable_postgres: PostgresServer, together: bool
) -> None:
    connections = PostgresConnections(restartable_postgres.new_store_url(), max_size=2)
    try:
        connections.hold()
        before = _backend(connections)
        restartable_postgres.restart()
        # The held connection is broken: the statement (or statements sent together) runs
        # again on a new one, and the broken one is not kept.
        after = _backend(connections, together)
        assert after != before
        assert _backend(connections) == after
        connections.release()
        assert connections.execute("SELECT 1 AS one").fetchone()["one"] == 1
    finally:
        connections.close()


def test_statements_sent_together_answer_in_order_in_one_round_trip(store_url: str) -> None:
    connections = PostgresConnections(store_url, max_size=2)
    try:
        with connections.traced() as trace:
            one, three, none = connections.execute_together(
                [
                    ("SELECT ? AS n", (1,)),
                    ("SELECT generate_series(1, ?) AS n", (3,)),
                    ("SELECT 1 AS n WHERE false", ()),
                ]
            )
        assert [row["n"] for row in one] == [1]
        assert [row["n"] for row in three] == [1, 2, 3]
        assert none.fetchall() == []
        assert len(trace) == 3
        assert len(trace.trips) == 1
        # Inside a transaction they run on its connection.
        with connections.transaction():
            assert _backend(connections, together=True) == _backend(connections)
        # One that fails is the caller's error, and the connection serves the next ones.
        with pytest.raises(psycopg.errors.DivisionByZero):
            connections.execute_together([("SELECT 1", ()), ("SELECT 1 / 0", ())])
        (after,) = connections.execute_together([("SELECT 2 AS n", ())])
        assert after.fetchone()["n"] == 2
    finally:
        connections.close()


def test_a_record_is_read_in_one_round_trip_an_article_in_two(
    make_app, postgres: PostgresServer, tmp_path: Path
) -> None:
    app = make_app(make_config(tmp_path, database_url=postgres.new_store_url()))
    client = app.test_client()
    store = app.extensions["kb"].store
    sqlite_app = make_app(make_config(tmp_path / "sqlite"))
    for path in ("/v1/articles/264630", "/v1/workarounds/264630-w1", "/v1/issues/264630-1"):
        client.get(path)
        with store.traced() as trace:
            response = client.get(path)
        assert response.status_code == 200
        # What came back is what the SQLite store, read a statement at a time, gives (but for
        # when each store wrote the article: the two were built a moment apart).
        read, expected = response.get_json(), sqlite_app.test_client().get(path).get_json()
        read.pop("updated_at", None)
        expected.pop("updated_at", None)
        assert read == expected
        # The store's revision, asked at most once a second, is not the read's own.
        trips = [t for t in trace.trips if not all("FROM meta" in s for s in t)]
        # An article: its id (or alias) resolved, then all of it, steps of its workarounds
        # included. An issue: itself, then its learned symptoms.
        assert len(trips) == {"articles": 2, "workarounds": 1, "issues": 2}[path.split("/")[2]]


def test_a_second_node_builds_its_own_index_from_the_shared_store(
    make_app, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.new_store_url()
    first = make_app(make_config(tmp_path / "a", database_url=url, api_tokens=["t"]))
    put = first.test_client().put(
        "/v1/articles/700001",
        json=widget_article("700001", "Widget relay 7 lost its queue after the restart"),
        headers={"Authorization": "Bearer t"},
    )
    assert put.status_code in (200, 201), put.get_json()
    # Node B starts on an empty KB_HOME: its index comes from the store, A's write included.
    second = make_app(make_config(tmp_path / "b", database_url=url))
    body = second.test_client().post(
        "/v1/match",
        data="Widget relay 7 lost its queue after the restart",
        content_type="text/plain",
    )
    assert body.get_json()["matches"][0]["article_id"] == "700001"
    assert not (tmp_path / "b" / "home" / "kb.sqlite3").exists()


def test_the_database_url_must_name_postgresql(monkeypatch) -> None:
    monkeypatch.setenv("KB_DATABASE_URL", "mysql://db/kb")
    with pytest.raises(SystemExit, match="KB_DATABASE_URL"):
        Config.from_env()
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://kb@db.internal/kb")
    config = Config.from_env()
    assert config.store_location == config.activity_location == "postgresql://kb@db.internal/kb"
    monkeypatch.delenv("KB_DATABASE_URL")
    assert Config.from_env().store_location == Config.from_env().store_path


# The ranking by reading each article's tsvector, once per word: what the stored ranks
# (article_terms) stand in for, and must give to the last digit.
_RANKED_BY_TSVECTOR = """
SELECT s.rowid, sum(ln((%s::float8 - w.found + 0.5) / (w.found + 0.5))
    * ts_rank_cd('{0.1, 0.2, 0.5, 1.0}', s.document, w.query, 33)) AS score
FROM (SELECT websearch_to_tsquery('kb_english', t.word) AS query, t.found
      FROM unnest(%s::text[], %s::bigint[]) AS t(word, found)) w
JOIN article_search s ON s.document @@ w.query
GROUP BY s.rowid ORDER BY score DESC, s.rowid
"""


def test_searches_rank_as_reading_every_articles_tsvector_would(stores, store_url) -> None:
    store = stores()
    store.initialise()
    lines = [
        "Flux readings drift when the capacitor overheats",
        "The flux capacitor overheated twice; flux flux",
        "Copylog.tcf lists the readings",
        "Gadget stalled at start",
        "Capacitor overheated",
        "Readings of the gadget",
        "Nothing to see here",
        "Another quiet widget",
    ]
    for number, line in enumerate(lines, start=700001):
        store.save_article(
            load_article_document(widget_article(str(number), line)), source="imported"
        )
    # One article rewritten in place, as an UPDATE (the store itself deletes and inserts).
    outside_sql(
        store_url,
        "UPDATE article_search SET body = 'Capacitor overheated; flux leaked' WHERE rowid = 700005",
    )
    for words in (["flux"], ["flux", "capacitor"], ["readings", "copylog.tcf"], ["overheated"]):
        quoted = ['"' + w.replace(".", " ") + '"' for w in words]
        total = len(lines)
        found = [
            outside_sql(
                store_url,
                "SELECT count(*) FROM article_search"
                f" WHERE document @@ websearch_to_tsquery('kb_english', '{q}')",
            )[0][0]
            for q in quoted
        ]
        with psycopg.connect(store_url) as pg:
            expected = pg.execute(_RANKED_BY_TSVECTOR, (total, quoted, found)).fetchall()
        got = store.search_articles(words, limit=20)
        assert [(h["article_id"], h["score"]) for h in got] == [
            (str(rowid), pytest.approx(score, rel=1e-6)) for rowid, score in expected
        ], words


def test_a_long_articles_ranks_are_those_ts_rank_cd_gives(stores, store_url) -> None:
    # The ranks are worked out without ts_rank_cd's own length normalisation (which counts all
    # an article's positions for each of its words: the square of its length in all), so that
    # saving a long article stays linear in it; they must still be ts_rank_cd's.
    store = stores()
    store.initialise()
    words = [f"w{n:04d}x" for n in range(4_000)]
    text = " ".join(words + words[:1_000])
    store.save_article(load_article_document(widget_article("700001", text)), source="imported")
    [[stored, same]] = outside_sql(
        store_url,
        "SELECT count(*), count(*) FILTER (WHERE t.rank = ts_rank_cd("
        "'{0.1, 0.2, 0.5, 1.0}', s.document, quote_literal(t.lexeme)::tsquery, 33))"
        " FROM article_terms t JOIN article_search s ON s.rowid = t.rowid"
        " WHERE t.rowid = 700001",
    )
    assert stored == same >= 4_000

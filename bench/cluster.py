"""Two nodes on one PostgreSQL store, checked end to end over HTTP: `make cluster-test`.

Starts a throw-away PostgreSQL server (or uses --database-url) and two `kb serve` nodes, A and
B, on ports of their own, each with its own KB_HOME, both pointed at the one database. Then:

1. imports articles of the SMS archive through A (POST /v1/articles/import, a few clients at
   once), and waits until B's /readyz says B's index holds every write;
2. sends the same pastes (each article's quoted log lines, or its title) to A and B and
   compares the answers: the issues, their order and confidence, and the lines matched; and
   asks the same of a third node over a SQLite store the same articles were imported into;
3. PUTs a new article on A and measures how long until B matches it (the bound: 2 s);
4. sends feedback on A for a paste B answered, and reads it counted in B's /v1/stats;
5. imports the next 60 articles through A and kills PostgreSQL part-way, starting it again
   at once (`pg_ctl restart -m immediate`): the import's clients try again when told 503, as
   a client should; every article A acknowledged must be in the store and on B, and both
   nodes, never restarted, must be ready again and take writes;
6. imports the next 100 articles through A and kills A (`kill -9`, master and workers)
   part-way: every article A acknowledged must be in the store and indexed on B, and A,
   started again on its KB_HOME, must become ready with all of them.

Run by hand it takes the whole archive (2,820 articles, the last 160 for steps 5 and 6);
tests/test_cluster.py runs the same on a few hundred. Exits 1 when a check fails; --json prints the report as JSON.

    python bench/cluster.py [--articles N] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import SMS_ARCHIVE, free_port  # noqa: E402
from service.importer import iter_sources  # noqa: E402

TOKEN = "cluster-check-writer"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# What the service promises: a write on one node is matched on the other within this.
CONVERGE_SECONDS = 2.0
# How long a node may take to catch up with an import it did not make, before the check fails.
CATCH_UP_SECONDS = 120.0
# Clients importing through A at once, as a bulk loader over HTTP might be.
IMPORT_CLIENTS = 4
# Pastes compared between the nodes, at most.
COMPARED_PASTES = 200
# Answers to an import that refuse the article, not fail: 409 for an article of the curated
# set (kb_data), which imports may not replace; 422 for a text that is no article.
REFUSALS = {"409", "422"}
# Articles imported through A while it is killed: the archive's last ones, kept out of the
# first import.
KILL_ARTICLES = 100
# Articles imported through A while PostgreSQL is restarted: the ones before those.
RESTART_ARTICLES = 60
# How long an import client goes on trying one article the node answers 503 for.
RETRY_SECONDS = 60.0


@dataclass
class Node:
    """One `kb serve` process group over the shared database."""

    name: str
    port: int
    home: Path
    env: dict[str, str]
    workers: int = 2
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.home.parent / f"{self.name}.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port),
                 "--workers", str(self.workers)],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited: {self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if call(self.port, "GET", "/readyz")[0] == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"node {self.name} not ready after {seconds} s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (gunicorn's master and its workers)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def call(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, Any]:
    """One request to 127.0.0.1:port: (status, the body read as JSON, or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data) if data else None
    except ValueError:
        return response.status, None


def post_json(port: int, path: str, payload: dict, headers: dict | None = None):
    return call(
        port, "POST", path, json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip


def match(port: int, paste: str) -> tuple[int, Any]:
    return call(port, "POST", "/v1/match", paste.encode(), {"Content-Type": "text/plain"})


def archive_texts(archive: Path, count: int) -> list[str]:
    """The first `count` article texts of the archive."""
    texts = []
    for source in iter_sources([archive]):
        if source.text is not None:
            texts.append(source.text)
        if len(texts) == count:
            break
    return texts


def import_through(
    node: Node,
    texts: list[str],
    on_ack: Callable[[int], None] | None = None,
    *,
    retry_unavailable: bool = False,
) -> tuple[list[str], Counter[str]]:
    """POST each text to the node's import endpoint from a few clients at once; (the ids of
    the articles the node acknowledged, the other answers by status, "refused" for no answer
    at all). Goes on quietly when the node goes away (the kill check). `retry_unavailable`:
    a text answered 503 is sent again after the Retry-After the node asks for (at most a
    second), for up to RETRY_SECONDS; each such answer is counted as "503 retried"."""
    acknowledged: list[str] = []
    others: Counter[str] = Counter()
    lock = threading.Lock()
    pending = iter(texts)

    def client() -> None:
        while True:
            with lock:
                text = next(pending, None)
            if text is None:
                return
            deadline = time.monotonic() + RETRY_SECONDS
            while True:
                try:
                    status, body = call(
                        node.port, "POST", "/v1/articles/import", text.encode(),
                        {"Content-Type": "text/plain; charset=utf-8", **AUTH},
                    )  # fmt: skip
                except OSError:
                    status, body = 0, None
                if not (retry_unavailable and status == 503 and time.monotonic() < deadline):
                    break
                with lock:
                    others["503 retried"] += 1
                time.sleep(1.0)
            if status == 0:
                with lock:
                    others["refused"] += 1
                continue
            with lock:
                if status in (200, 201) and body:
                    acknowledged.append(body["id"])
                    if on_ack is not None:
                        on_ack(len(acknowledged))
                else:
                    others[str(status)] += 1

    threads = [threading.Thread(target=client) for _ in range(IMPORT_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged, others


def readiness(node: Node) -> dict[str, Any]:
    status, body = call(node.port, "GET", "/readyz")
    return {"ready": status == 200, **(body or {}).get("checks", {})}


def wait_caught_up(node: Node, seconds: float = CATCH_UP_SECONDS) -> float:
    """Seconds until the node's index holds every write of the store; fails at the deadline."""
    started = time.monotonic()
    while True:
        checks = readiness(node)
        index, store = checks.get("index", {}), checks.get("store", {})
        if index.get("behind") == 0 and index.get("revision") == store.get("revision"):
            return time.monotonic() - started
        if time.monotonic() - started > seconds:
            raise AssertionError(f"node {node.name} still behind after {seconds} s: {checks}")
        time.sleep(0.1)


def pastes_of(node: Node, article_ids: list[str]) -> Iterator[str]:
    """For each article: its quoted log lines as one paste, or its title when it quotes none."""
    for article_id in article_ids:
        status, article = call(node.port, "GET", f"/v1/articles/{quote(article_id)}")
        if status != 200:
            continue
        lines = [s["text"] for s in article.get("symptoms", []) if s.get("kind") == "log_line"]
        yield "\n".join(lines) if lines else article["title"]


# How far one issue's confidence may differ between two nodes' answers. Whoosh counts a
# replaced document in its term statistics until the segment holding it is merged away, so
# indexes with different histories (one node indexed an article twice, the other once) give
# scores apart in the third decimal; the issues, their order and the lines must agree.
CONFIDENCE_TOLERANCE = 0.01


def answer_shape(body: dict) -> list[tuple]:
    """What must be the same on every node: the issues, in order, with their confidence and
    the lines that matched (links and request ids differ by node and request)."""
    return [
        (
            m["issue_id"],
            m.get("confidence"),
            tuple(sorted(str(line.get("symptom_id")) for line in m.get("matched_lines", []))),
        )
        for m in body.get("matches", [])
    ]


def same_answer(one: list[tuple], other: list[tuple]) -> bool:
    """The same issues in the same order, matched by the same lines, with confidences equal
    to within CONFIDENCE_TOLERANCE."""
    return len(one) == len(other) and all(
        x[0] == y[0]
        and x[2] == y[2]
        # Rounded as confidences are (to 3 places): 0.251 - 0.241 is 0.010000000000000009.
        and round(abs((x[1] or 0) - (y[1] or 0)), 3) <= CONFIDENCE_TOLERANCE
        for x, y in zip(one, other, strict=True)
    )


@dataclass
class Report:
    articles_imported: int = 0
    # Texts the import endpoint refused (REFUSALS), by status.
    articles_refused: dict[str, int] = field(default_factory=dict)
    import_seconds: float = 0.0
    b_caught_up_seconds: float = 0.0
    pastes_compared: int = 0
    pastes_matched: int = 0
    # Answers equal to the last decimal, and answers that differ beyond `same_answer`'s bounds.
    answers_identical: int = 0
    answers_differing: list[dict] = field(default_factory=list)
    put_matched_on_b_seconds: float | None = None
    feedback_counted_on_b: bool = False
    # The same pastes asked of a node over a SQLite store the same articles were imported into.
    sqlite_compared: int = 0
    sqlite_identical: int = 0
    sqlite_differing: list[dict] = field(default_factory=list)
    # PostgreSQL killed and started again during an import through A.
    restart_acknowledged: int = 0
    restart_unavailable_answers: int = 0
    restart_lost: list[str] = field(default_factory=list)
    restart_recovered_seconds: float | None = None
    killed_after_acknowledged: int = 0
    acknowledged_lost: list[str] = field(default_factory=list)
    a_restarted_ready: bool = False
    failures: list[str] = field(default_factory=list)


def run(
    database_url: str,
    root: Path,
    articles: int,
    archive: Path = SMS_ARCHIVE,
    *,
    with_sqlite: bool = True,
    restart_database: Callable[[], None] | None = None,
) -> Report:
    """Every check, on two nodes made under root (and, `with_sqlite`, a third over a SQLite
    store, for comparing answers); the report says what held and what not. The restart check
    runs when `restart_database` is given: what kills the database server and starts it."""
    report = Report()
    env = dict(
        os.environ,
        KB_DATABASE_URL=database_url,
        KB_API_TOKENS=TOKEN,
        PYTHONPATH=str(ROOT),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    nodes = {
        name: Node(name, free_port(), root / name, dict(env, KB_HOME=str(root / name)))
        for name in ("a", "b", "sqlite")
    }
    # The third node has a store of its own under its KB_HOME: what a single machine runs.
    del nodes["sqlite"].env["KB_DATABASE_URL"]
    a, b = nodes["a"], nodes["b"]
    try:
        a.start()
        a.wait_ready()
        b.start()
        b.wait_ready()
        texts = archive_texts(archive, articles + RESTART_ARTICLES + KILL_ARTICLES)
        killed = min(KILL_ARTICLES, len(texts) // 4)
        restarted = min(RESTART_ARTICLES, len(texts) // 4)
        first = texts[: len(texts) - killed - restarted]
        pastes = _import_and_compare(a, b, first, report)
        if with_sqlite:
            _compare_with_sqlite(b, nodes["sqlite"], first, pastes, report)
        _put_and_feedback(a, b, report)
        if restart_database is not None:
            restart_texts = texts[len(first) : len(first) + restarted]
            _restart_during_import(a, b, restart_texts, restart_database, report)
        _kill_during_import(a, b, texts[len(texts) - killed :], report)
    finally:
        for node in nodes.values():
            node.kill(signal.SIGTERM)
    return report


def _import_and_compare(a: Node, b: Node, texts: list[str], report: Report) -> list[str]:
    """Import `texts` through A, wait for B, and compare their answers; the pastes asked."""
    started = time.monotonic()
    acknowledged, others = import_through(a, texts)
    report.import_seconds = round(time.monotonic() - started, 1)
    report.articles_imported = len(acknowledged)
    report.articles_refused = dict(others)
    if set(others) - REFUSALS:
        report.failures.append(f"imports through A failed: {dict(others)}")
    report.b_caught_up_seconds = round(wait_caught_up(b), 2)
    step = max(1, len(acknowledged) // COMPARED_PASTES)
    pastes = list(pastes_of(a, sorted(acknowledged)[::step]))
    for paste in pastes:
        (status_a, on_a), (status_b, on_b) = match(a.port, paste), match(b.port, paste)
        report.pastes_compared += 1
        report.pastes_matched += bool(status_a == 200 and on_a["matches"])
        if status_a != 200 or status_b != 200:
            report.failures.append(f"a paste was answered {status_a} on A, {status_b} on B")
            continue
        report.answers_identical += answer_shape(on_a) == answer_shape(on_b)
        if not same_answer(answer_shape(on_a), answer_shape(on_b)):
            report.answers_differing.append(
                {"paste": paste[:200], "a": answer_shape(on_a), "b": answer_shape(on_b)}
            )
    if report.answers_differing:
        report.failures.append(f"{len(report.answers_differing)} pastes answered differently")
    return pastes


def _compare_with_sqlite(
    b: Node, single: Node, texts: list[str], pastes: list[str], report: Report
) -> None:
    """The same articles imported into a node of its own SQLite store: the same answers."""
    single.start()
    single.wait_ready()
    try:
        _, others = import_through(single, texts)
        if set(others) - REFUSALS:
            report.failures.append(f"imports into the SQLite node failed: {dict(others)}")
        for paste in pastes:
            (status_b, on_b), (status_s, on_s) = match(b.port, paste), match(single.port, paste)
            if status_b != 200 or status_s != 200:
                report.failures.append(f"a paste was answered {status_b} on B, {status_s} alone")
                continue
            report.sqlite_compared += 1
            report.sqlite_identical += answer_shape(on_b) == answer_shape(on_s)
            if not same_answer(answer_shape(on_b), answer_shape(on_s)):
                report.sqlite_differing.append(
                    {"paste": paste[:200], "postgresql": answer_shape(on_b),
                     "sqlite": answer_shape(on_s)}
                )  # fmt: skip
    finally:
        single.kill(signal.SIGTERM)
    if report.sqlite_differing:
        report.failures.append(
            f"{len(report.sqlite_differing)} pastes answered otherwise over a SQLite store"
        )


def _put_and_feedback(a: Node, b: Node, report: Report) -> None:
    line = "Cluster relay 7 dropped its queue after the failover"
    article = {
        "id": "990001",
        "aliases": [],
        "title": "Cluster relay article 990001",
        "applies_to": [],
        "keywords": [],
        "issues": [{"id": "990001-1", "number": 1, "title": "Relay issue", "description": ""}],
        "symptoms": [],
        "causes": [],
        "workarounds": [],
        "related": [],
        "sections": [{"key": "summary", "heading": "SUMMARY", "body": line}],
    }
    status, _ = call(
        a.port, "PUT", "/v1/articles/990001", json.dumps(article).encode(),
        {"Content-Type": "application/json", **AUTH},
    )  # fmt: skip
    written = time.monotonic()
    if status not in (200, 201):
        report.failures.append(f"PUT on A answered {status}")
        return
    while time.monotonic() - written <= CONVERGE_SECONDS:
        status, body = match(b.port, line)
        if status == 200 and body["matches"] and body["matches"][0]["article_id"] == "990001":
            report.put_matched_on_b_seconds = round(time.monotonic() - written, 2)
            break
        time.sleep(0.05)
    else:
        report.failures.append(f"the PUT on A was not matched on B within {CONVERGE_SECONDS} s")
    # A paste answered by B, judged through A; B must count the verdict.
    before = call(b.port, "GET", "/v1/stats")[1]["feedback"]["total"]
    _, answer = match(b.port, line)
    status, body = post_json(
        a.port,
        "/v1/feedback",
        {"request_id": answer["request_id"], "issue_id": "990001-1", "helpful": True},
    )
    if status != 201:
        report.failures.append(f"feedback on A answered {status}: {body}")
        return
    report.feedback_counted_on_b = call(b.port, "GET", "/v1/stats")[1]["feedback"]["total"] == (
        before + 1
    )
    if not report.feedback_counted_on_b:
        report.failures.append("feedback given on A was not counted on B")


def _restart_during_import(
    a: Node, b: Node, texts: list[str], restart: Callable[[], None], report: Report
) -> None:
    restart_at = max(5, len(texts) // 3)
    due = threading.Event()
    done = threading.Event()

    def restart_when_due() -> None:
        # In a thread of its own: the import's requests go on while the server is down.
        due.wait()
        try:
            restart()
        finally:
            done.set()

    def mark(count: int) -> None:
        if count >= restart_at:
            due.set()

    restarter = threading.Thread(target=restart_when_due)
    restarter.start()
    acknowledged, others = import_through(a, texts, on_ack=mark, retry_unavailable=True)
    due.set()
    restarter.join()
    restarted = time.monotonic()
    report.restart_acknowledged = len(acknowledged)
    report.restart_unavailable_answers = others.pop("503 retried", 0)
    if set(others) - REFUSALS:
        report.failures.append(f"imports through A across the restart failed: {dict(others)}")
    # Both nodes, never restarted, take writes and catch up again.
    for node in (a, b):
        try:
            wait_caught_up(node)
        except AssertionError as exc:
            report.failures.append(f"after the database restart: {exc}")
    report.restart_recovered_seconds = round(time.monotonic() - restarted, 2)
    report.restart_lost = [
        article_id
        for article_id in acknowledged
        if any(call(n.port, "GET", f"/v1/articles/{quote(article_id)}")[0] != 200 for n in (a, b))
    ]
    if report.restart_lost:
        report.failures.append(
            f"{len(report.restart_lost)} articles acknowledged across the restart are missing"
        )
    if not all(readiness(node)["ready"] for node in (a, b)):
        report.failures.append("a node is not ready after the database restart")


def _kill_during_import(a: Node, b: Node, texts: list[str], report: Report) -> None:
    kill_at = max(10, len(texts) // 3)
    killed = threading.Event()

    def kill_once(count: int) -> None:
        # Called with the clients' lock held: no acknowledgement is counted after the kill
        # that the kill could have cut short.
        if count >= kill_at and not killed.is_set():
            killed.set()
            a.kill()

    acknowledged, _ = import_through(a, texts, on_ack=kill_once)
    report.killed_after_acknowledged = len(acknowledged)
    if not killed.is_set():
        report.failures.append("the import through A ended before A could be killed")
    wait_caught_up(b)
    lost = [
        article_id
        for article_id in acknowledged
        if call(b.port, "GET", f"/v1/articles/{quote(article_id)}")[0] != 200
    ]
    checks = readiness(b)
    if checks["index"].get("articles") != checks["store"].get("articles"):
        report.failures.append(f"B's index and the store hold different articles: {checks}")
    report.acknowledged_lost = lost
    if lost:
        report.failures.append(f"{len(lost)} acknowledged articles lost by the kill")
    # A again, on the KB_HOME the kill left: ready, and holding what it acknowledged.
    a.start()
    a.wait_ready()
    wait_caught_up(a)
    report.a_restarted_ready = all(
        call(a.port, "GET", f"/v1/articles/{quote(article_id)}")[0] == 200
        for article_id in acknowledged
    )
    if not report.a_restarted_ready:
        report.failures.append("A, started again, misses articles it had acknowledged")


@contextmanager
def database(given: str | None) -> Iterator[tuple[str, Callable[[], None] | None]]:
    """The PostgreSQL URL to use and how to restart its server: `given` (a server this check
    may not restart: None), or a throw-away server's, stopped afterwards."""
    if given:
        yield given, None
        return
    from tests.postgres import PostgresServer, find_binaries

    binaries = find_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed: `make postgresql` installs it")
    server = PostgresServer(binaries, crash_safe=True)
    server.start()
    try:
        yield server.new_store_url(), server.restart
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=0, help="articles to import (0: all)")
    parser.add_argument("--database-url", default="", help="default: a throw-away server")
    parser.add_argument(
        "--no-sqlite", action="store_true", help="skip comparing with a node over SQLite"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    articles = args.articles or 10**9
    root = Path(tempfile.mkdtemp(prefix="kb-cluster-"))
    try:
        with database(args.database_url) as (url, restart):
            report = run(
                url, root, articles, with_sqlite=not args.no_sqlite, restart_database=restart
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(report.__dict__, indent=2))
    else:
        for name, value in report.__dict__.items():
            if name not in ("answers_differing", "sqlite_differing", "failures", "restart_lost"):
                print(f"{name}: {value}")
        for difference in report.answers_differing[:5] + report.sqlite_differing[:5]:
            print(f"differs: {difference}")
        print("FAILED: " + "; ".join(report.failures) if report.failures else "all checks held")
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

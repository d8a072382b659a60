"""Crash tests: a write that was acknowledged survives a kill -9, and the index catches up.

The store (SQLite) is written first and the Whoosh index after, so a crash can leave the index
behind the store. These tests kill the real processes (`kb serve` under gunicorn, `kb import`)
with SIGKILL while they write, start again on the same KB_HOME and check that:
- every acknowledged write is still readable and is matched from its log line (the index has
  it, not just the store);
- store and index hold exactly the same documents, and `kb check` finds them in step;
- an interrupted import, run again, completes without duplicating or losing anything.
A unit-level test also dies between the SQLite commit and the index update on purpose, in two
shapes, and shows the next start detects the gap and repairs it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from service.cli import main as kb_main
from service.config import Config
from service.importer import parse_article, run_import
from service.index import KBIndex
from service.kb import KnowledgeBase
from service.matching import match_log
from tests.helpers import free_port, make_config, request, wait_ready

PROJECT = Path(__file__).resolve().parent.parent
TOKEN = "crash-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONSONANTS = "bcdfghjklmnpqrstvwxz"
# KB numbers of generated articles: far from the curated and fixture ones.
API_BASE = 910000
CLI_BASE = 930000


# -- generated articles ---------------------------------------------------------------------


def word(n: int) -> str:
    """A made-up word unique to `n`: numbers are normalised away by the matcher, words are not."""
    letters = []
    for _ in range(4):
        letters.append(CONSONANTS[n % len(CONSONANTS)])
        n //= len(CONSONANTS)
    return "zq" + "".join(letters)


def log_line(n: int) -> str:
    """The distinctive quoted log line of generated article `n`."""
    w = word(n)
    return f"Quorvex {w} broker refused the {w}ly handshake for spool"


def plain_text(article_id: int, n: int) -> str:
    """Article `n` in the plain KB text format (as PLAIN_ARTICLE in test_importer)."""
    w = word(n)
    return (
        f"Crash test: the {w} broker refuses handshakes ({article_id})\n\n\n\n"
        "The information in this article applies to:\n\n"
        "  \u2022 Crash Test Product 1.0\n\n"
        f"This article was previously published under Q{article_id}\n\n"
        f"SYMPTOMS\n\nThe {w} broker stops accepting clients.\n\n"
        f"Crashtest.log\n\n{log_line(n)}\n\n"
        f"CAUSE\n\nThe {w} broker keeps a stale spool.\n\n"
        f"RESOLUTION\n\n  1. Restart the {w} broker.\n  2. Empty the spool.\n\n"
        "Modification Type:MajorLast Reviewed:3/1/2004\n"
        f"Keywords:kbfix KB{article_id}\n"
    )


def archive_text(article_id: int, n: int) -> str:
    """Article `n` in the archive's Markdown format (as ARCHIVE_ARTICLE in test_importer)."""
    w = word(n)
    body = [
        f"Article: Q{article_id}",
        "Product(s): Crash Test Product",
        "Version(s): winnt:1.0",
        "Operating System(s):",
        "Keyword(s): kbcrash kbfix",
        "Last Modified: 12-MAR-2001",
        "",
        "-" * 79,
        "The information in this article applies to:",
        "",
        "- Crash Test Product version 1.0",
        "-" * 79,
        "",
        "SYMPTOMS",
        "========",
        "",
        f"The {w} broker stops accepting clients. The Crashtest log shows:",
        "",
        f"{log_line(n)}  $$<SMS_CRASH_TEST><Mon Mar 12",
        "10:01:02.333 2001 Pacific Standard Time><thread=230 (0xE6)>",
        "",
        "CAUSE",
        "=====",
        "",
        f"The {w} broker keeps a stale spool.",
        "",
        "RESOLUTION",
        "==========",
        "",
        f"1. Restart the {w} broker.",
        "",
        "=" * 77,
    ]
    title = f"Q{article_id}: CRASH: The {w} broker refuses handshakes"
    return (
        f'---\nlayout: page\ntitle: "{title}"\npermalink: /kb/{str(article_id)[:3]}/Q{article_id}/\n'
        f"---\n\n## {title}\n\n{{% raw %}}\n\n"
        + "".join(f"\t{line}\n" for line in body)
        + "\n{% endraw %}\n"
    )


def structured(article_id: int, n: int) -> dict[str, Any]:
    """Article `n` in the kb_data record shape, for PUT."""
    aid = str(article_id)
    return {
        "id": aid,
        "title": f"Crash test: the {word(n)} broker refuses handshakes",
        "applies_to": [{"product": "Crash Test Product", "version": "1.0"}],
        "issues": [{"id": f"{aid}-1", "number": 1, "title": "Broker refuses handshakes"}],
        "symptoms": [
            {
                "id": f"{aid}-1-s01",
                "issue_id": f"{aid}-1",
                "kind": "log_line",
                "text": log_line(n),
            }
        ],
        "workarounds": [
            {
                "id": f"{aid}-w1",
                "issue_ids": [f"{aid}-1"],
                "title": "Restart the broker",
                "steps": [{"number": 1, "text": "Restart the broker service."}],
            }
        ],
    }


# -- processes ------------------------------------------------------------------------------


def kb_env(config: Config) -> dict[str, str]:
    """The environment of a `kb` command on this knowledge base, with writes turned on."""
    return dict(
        os.environ,
        KB_HOME=str(config.kb_home),
        KB_DATA=str(config.kb_data),
        KB_API_TOKENS=TOKEN,
    )


def spawn(
    spawned: list[subprocess.Popen], config: Config, args: list[str], log: Path
) -> subprocess.Popen:
    """Start `python -m service.cli ARGS` in a new session, so one killpg reaches its children."""
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            env=kb_env(config),
            cwd=PROJECT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    spawned.append(process)
    return process


def start_server(
    spawned: list[subprocess.Popen], config: Config, log: Path
) -> tuple[int, subprocess.Popen]:
    """Run `kb serve --workers 2` and wait until it is ready; returns (port, gunicorn master)."""
    port = free_port()
    process = spawn(spawned, config, ["serve", "--port", str(port), "--workers", "2"], log)
    wait_ready(port, process, log, seconds=30)
    return port, process


def live_members(group: int) -> list[int]:
    """Processes of a group that are still running (zombies waiting to be reaped do not count)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # the command name may hold spaces or parentheses; the fields after it do not
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL a whole process group (master, workers, pool children) and wait until it is gone."""
    group = process.pid
    os.killpg(group, signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while live_members(group):
        assert time.monotonic() < deadline, f"group {group} survived SIGKILL"
        time.sleep(0.02)


def kb_json(config: Config, *args: str) -> dict[str, Any]:
    """`kb <args> --json` in a process of its own, as an operator would run it: its report."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *args, "--json"],
        env=kb_env(config),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def kb_check(config: Config) -> dict[str, Any]:
    """`kb check --json`: what the store and the index hold, and whether they agree."""
    return kb_json(config, "check")


# -- what the store and the index hold ------------------------------------------------------


def read_store(config: Config, sql: str) -> list[tuple]:
    """Rows from the store through a read-only connection, as an outside observer sees them."""
    conn = sqlite3.connect(f"file:{config.store_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def store_documents(config: Config) -> Counter[str]:
    """The index documents the store's records call for: one per issue, one per symptom, and
    one per learned symptom of an issue still in the store (see index.all_documents)."""
    sql = "SELECT 'issue:' || id FROM issues UNION ALL SELECT 'symptom:' || id FROM symptoms"
    if read_store(config, "SELECT 1 FROM sqlite_master WHERE name='learned_symptoms'"):
        sql += (
            " UNION ALL SELECT 'symptom:' || l.id FROM learned_symptoms l"
            " JOIN issues i ON i.id = l.issue_id"
        )
    return Counter(row[0] for row in read_store(config, sql))


def index_documents(config: Config) -> Counter[str]:
    """The documents live in the Whoosh index (deleted ones excluded), counted, so a duplicate
    shows up as well as a missing one."""
    index = KBIndex(config.index_path)
    try:
        with index.open().searcher() as searcher:
            return Counter(fields["doc_id"] for fields in searcher.all_stored_fields())
    finally:
        index.close()


def generated_ids(config: Config, base: int) -> dict[str, int]:
    """Generated articles in the store: KB number -> the `n` they were generated from."""
    rows = read_store(config, "SELECT id FROM articles")
    return {row[0]: int(row[0]) - base for row in rows if 0 <= int(row[0]) - base < 10_000}


def assert_store_and_index_agree(config: Config) -> None:
    """Exactly the store's issues and symptoms are indexed: none missing, none extra, no twins."""
    in_store = store_documents(config)
    in_index = index_documents(config)
    assert in_index == in_store, (
        f"missing from the index: {sorted((in_store - in_index).elements())[:10]}, "
        f"not in the store: {sorted((in_index - in_store).elements())[:10]}"
    )


def top_article(knowledge: KnowledgeBase, line: str) -> str | None:
    """The article ranked first for one pasted line, None when nothing matches."""
    matches = match_log(knowledge, line, limit=3)["matches"]
    return matches[0]["article_id"] if matches else None


# -- kill -9 of the server ------------------------------------------------------------------


class Writer:
    """Clients sending authorised writes until the server goes away, noting what was acknowledged."""

    def __init__(self, port: int, total: int, threads: int) -> None:
        self.port = port
        self.next_n = iter(range(total))
        self.lock = threading.Lock()
        self.killed = threading.Event()
        self.acknowledged: dict[str, int] = {}
        self.sent = 0
        self.interrupted = 0  # requests the kill cut off after they were sent
        self.problems: list[str] = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def start(self) -> None:
        """Start the client threads."""
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        """Wait for the clients, which stop at their first failed request once the server died."""
        for thread in self.threads:
            thread.join(timeout=20)
            assert not thread.is_alive(), "a client hung after the server died"

    def take(self) -> int | None:
        """The next article to write, None when all were sent."""
        with self.lock:
            n = next(self.next_n, None)
            if n is not None:
                self.sent += 1
            return n

    def send(self, n: int) -> tuple[str, int]:
        """Write article `n`: by turns structured by PUT, or as text by import in either format."""
        article_id = API_BASE + n
        if n % 2:
            body = json.dumps(structured(article_id, n)).encode()
            headers = {**AUTH, "Content-Type": "application/json"}
            status = request(self.port, "PUT", f"/v1/articles/{article_id}", body, headers)[0]
        else:
            text = plain_text(article_id, n) if n % 4 == 0 else archive_text(article_id, n)
            headers = {**AUTH, "Content-Type": "text/plain; charset=utf-8"}
            status = request(self.port, "POST", "/v1/articles/import", text.encode(), headers)[0]
        return str(article_id), status

    def run(self) -> None:
        """One client: write articles one after another, sorting each outcome."""
        while (n := self.take()) is not None:
            try:
                article_id, status = self.send(n)
            except ConnectionRefusedError:
                with self.lock:
                    if not self.killed.is_set():
                        self.problems.append(f"article {n}: connection refused before the kill")
                return
            except Exception as exc:  # whatever the kill does to a request in flight
                with self.lock:
                    if self.killed.is_set():
                        self.interrupted += 1
                    else:
                        self.problems.append(f"article {n}: {exc!r} before the kill")
                return
            with self.lock:
                if 200 <= status < 300:
                    self.acknowledged[article_id] = n
                else:
                    self.problems.append(f"article {n}: HTTP {status}")


def test_acknowledged_writes_survive_a_kill_9_of_the_server(
    tmp_path: Path, spawned: list[subprocess.Popen]
) -> None:
    config = make_config(tmp_path)
    log = tmp_path / "serve.log"
    port, server = start_server(spawned, config, log)

    total = 400
    writer = Writer(port, total, threads=3)
    writer.start()
    deadline = time.monotonic() + 30
    while len(writer.acknowledged) < 60:
        assert time.monotonic() < deadline, f"too few writes acknowledged: {writer.problems}"
        time.sleep(0.01)
    writer.killed.set()
    kill_group(server)
    writer.join()

    assert writer.problems == []
    # the kill came mid-stream, with requests in flight, not after the last one
    assert writer.sent < total
    assert writer.interrupted >= 1
    acknowledged = writer.acknowledged

    port, _ = start_server(spawned, config, log)
    check = kb_check(config)
    assert check["index_was_behind"] is False
    assert check["index_revision"] == check["store_revision"]

    # the API lists every article the store has, and the index holds exactly their records
    listed: list[str] = []
    cursor = ""
    while True:
        status, _, body = request(port, "GET", f"/v1/articles?limit=200{cursor}")
        assert status == 200
        page = json.loads(body)
        listed += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(listed) == len(set(listed)) == check["articles"]
    assert_store_and_index_agree(config)

    in_store = generated_ids(config, API_BASE)
    assert set(acknowledged) <= set(in_store) <= set(listed)
    for article_id, n in acknowledged.items():
        status, _, body = request(port, "GET", f"/v1/articles/{article_id}")
        assert status == 200, article_id
        assert [s["text"].split("  $$<")[0] for s in json.loads(body)["symptoms"]] == [log_line(n)]
    # every generated article that reached the store, acknowledged or not, is matched first
    for article_id, n in in_store.items():
        status, _, body = request(port, "GET", "/v1/match?line=" + quote(log_line(n)))
        assert status == 200
        matches = json.loads(body)["matches"]
        assert matches and matches[0]["article_id"] == article_id, (article_id, matches[:2])


# -- kill -9 of `kb import` -----------------------------------------------------------------


def write_article_files(folder: Path, count: int) -> None:
    """`count` article files, alternating plain .txt files and the archive's nested README.md."""
    folder.mkdir()
    for n in range(count):
        article_id = CLI_BASE + n
        if n % 2:
            path = folder / "kb" / str(article_id)[:3] / f"Q{article_id}" / "README.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(archive_text(article_id, n), encoding="utf-8")
        else:
            (folder / f"{article_id}.txt").write_text(plain_text(article_id, n), encoding="utf-8")


def imported_count(config: Config) -> int:
    """Imported articles in the store, 0 while the store is not created yet."""
    try:
        return read_store(config, "SELECT count(*) FROM articles WHERE source='imported'")[0][0]
    except sqlite3.OperationalError:
        return 0


def assert_all_matched(config: Config, expected: dict[str, int]) -> None:
    """Each article's own log line ranks it first, in a knowledge base started as the app
    starts it (ensure_ready: build or repair, then serve)."""
    knowledge = KnowledgeBase(config)
    try:
        knowledge.ensure_ready()
        misses = {
            article_id: top
            for article_id, n in expected.items()
            if (top := top_article(knowledge, log_line(n))) != article_id
        }
    finally:
        knowledge.close()
    assert misses == {}


def test_a_killed_import_leaves_a_consistent_store_and_resumes(
    tmp_path: Path, spawned: list[subprocess.Popen]
) -> None:
    config = make_config(tmp_path)
    folder = tmp_path / "articles"
    total = 600
    write_article_files(folder, total)
    log = tmp_path / "import.log"

    importer = spawn(spawned, config, ["import", str(folder), "--json"], log)
    deadline = time.monotonic() + 30
    while imported_count(config) < 100:
        assert importer.poll() is None, "the import ended early: " + log.read_text()
        assert time.monotonic() < deadline, "the import wrote nothing: " + log.read_text()
        time.sleep(0.01)
    kill_group(importer)
    stored = imported_count(config)
    assert 100 <= stored < total
    curated = read_store(config, "SELECT count(*) FROM articles WHERE source='curated'")[0][0]

    # the import was cut off before it indexed: check must see the gap and close it
    check = kb_check(config)
    assert check["index_was_behind"] is True
    assert check["documents_reindexed"] > 0
    assert check["articles"] == curated + stored
    again = kb_check(config)
    assert again["index_was_behind"] is False
    assert again["index_revision"] == again["store_revision"]
    assert_store_and_index_agree(config)
    in_store = generated_ids(config, CLI_BASE)
    assert len(in_store) == stored
    assert_all_matched(config, in_store)

    # the same import again finishes the job: what is there is unchanged, the rest is new
    summary = kb_json(config, "import", str(folder))
    assert (summary["imported"], summary["unchanged"]) == (total - stored, stored)
    assert summary["updated"] == summary["skipped"] == summary["failed"] == 0
    final = kb_check(config)
    assert final["index_was_behind"] is False
    assert final["articles"] == curated + total
    assert_store_and_index_agree(config)
    in_store = generated_ids(config, CLI_BASE)
    assert in_store == {str(CLI_BASE + n): n for n in range(total)}
    assert_all_matched(config, in_store)


# -- dying between the SQLite commit and the index update -----------------------------------


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing on the way up handles it."""


@pytest.mark.parametrize("write", ["save", "delete"])
def test_a_write_that_dies_before_its_index_update_is_repaired_by_kb_check(
    write: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = make_config(tmp_path)
    knowledge = KnowledgeBase(config)
    knowledge.ensure_ready()
    document = parse_article(plain_text(API_BASE, 1))
    symptom = f"symptom:{API_BASE}-1-s01"
    if write == "delete":
        knowledge.save_article(document, source="api")
        assert symptom in index_documents(config)

    def die(*_: Any, **__: Any) -> int:
        raise Killed

    monkeypatch.setattr(KBIndex, "update_articles", die)
    with pytest.raises(Killed):
        if write == "save":
            knowledge.save_article(document, source="api")
        else:
            knowledge.delete_article(document["id"])
    knowledge.close()
    monkeypatch.undo()

    # the commit happened, the index update did not
    stored = read_store(config, f"SELECT count(*) FROM articles WHERE id='{API_BASE}'")
    assert stored == [(1 if write == "save" else 0,)]
    assert (symptom in index_documents(config)) is (write == "delete")

    monkeypatch.setenv("KB_DATA", str(config.kb_data))
    assert kb_main(["--home", str(config.kb_home), "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["index_was_behind"] is True and report["documents_reindexed"] > 0
    assert_store_and_index_agree(config)
    restarted = KnowledgeBase(config)
    try:
        assert not restarted.index_lags()
        expected = str(API_BASE) if write == "save" else None
        assert top_article(restarted, log_line(1)) == expected
    finally:
        restarted.close()


def test_another_writers_index_update_does_not_hide_a_dead_writers_gap(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    # two gunicorn workers: each its own KnowledgeBase over the same files
    dying, surviving = KnowledgeBase(config), KnowledgeBase(config)
    dying.ensure_ready()
    lost = parse_article(plain_text(API_BASE, 1))
    kept = parse_article(archive_text(API_BASE + 2, 2))
    # the first worker commits and is killed before its index update; the second writes after
    # it and indexes its own article, at a store revision that includes the first one's write
    assert dying.store.save_article(lost, source="api").outcome == "created"
    assert surviving.save_article(kept, source="api") == "created"
    dying.close()
    surviving.close()

    restarted = KnowledgeBase(config)
    try:
        assert restarted.index_lags()
        restarted.ensure_ready()
        assert not restarted.index_lags()
        assert top_article(restarted, log_line(1)) == str(API_BASE)
        assert top_article(restarted, log_line(2)) == str(API_BASE + 2)
    finally:
        restarted.close()
    assert_store_and_index_agree(config)


def test_interleaved_writers_that_both_finish_leave_the_index_in_step(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    first, second = KnowledgeBase(config), KnowledgeBase(config)
    first.ensure_ready()
    one = parse_article(plain_text(API_BASE, 1))
    two = parse_article(plain_text(API_BASE + 2, 2))
    # committed in one order, indexed in the other, as two workers racing for the index lock
    write = first.store.save_article(one, source="api")
    assert write.outcome == "created"
    assert second.save_article(two, source="api") == "created"
    assert first.index_lags()  # the first write is not indexed yet
    first.after_write([write])
    try:
        # no spurious rebuild at the next start: nothing is missing
        assert not first.index_lags()
        assert top_article(first, log_line(1)) == str(API_BASE)
    finally:
        first.close()
        second.close()
    assert_store_and_index_agree(config)


def test_an_article_imported_twice_in_one_run_is_indexed_once(tmp_path: Path) -> None:
    # two files with one KB number: created, then updated, in the same index batch
    config = make_config(tmp_path)
    folder = tmp_path / "articles"
    folder.mkdir()
    text = plain_text(CLI_BASE, 1)
    (folder / "first.txt").write_text(text, encoding="utf-8")
    (folder / "second.txt").write_text(text.replace("Empty", "Clear"), encoding="utf-8")
    knowledge = KnowledgeBase(config)
    try:
        knowledge.ensure_ready()
        summary = run_import(knowledge, [folder], processes=1)
        assert (summary.counts["imported"], summary.counts["updated"]) == (1, 1)
        assert not knowledge.index_lags()
    finally:
        knowledge.close()
    assert_store_and_index_agree(config)

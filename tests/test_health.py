"""Readiness tells the truth about the index, and a worker keeps answering while it cannot
reopen the index."""

from __future__ import annotations

import logging
import time

from service import index as index_module
from service.importer import parse_article
from service.kb import KnowledgeBase
from service.storage import Store
from tests.helpers import started, widget_article
from tests.test_contract import assert_conforms
from tests.test_importer import PLAIN_ARTICLE

SEED_LINE = "Trying to open IPC connection with APM...  CCIM32"


def test_readyz_says_how_far_behind_the_index_is_and_is_not_ready_when_far(
    make_app, tmp_path
) -> None:
    config, app, client = started(make_app, tmp_path, ready_max_behind=2)
    assert client.get("/readyz").status_code == 200

    # An import that stored three articles and died before indexing them.
    importer = KnowledgeBase(config)
    for n in range(3):
        importer.store.save_article(widget_article(f"91010{n}", f"Gizmo {n} jammed"), "imported")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert_conforms("get", "/readyz", answer)
    body = answer.get_json()
    assert body["status"] == "not ready"
    index, store = body["checks"]["index"], body["checks"]["store"]
    assert index["ok"] is False and store["ok"] is True
    assert index["behind"] == 3 == store["revision"] - index["revision"]
    assert index["articles"] == store["articles"] - 3
    assert "3 writes" in index["error"]

    # `kb check` (or the next start) repairs the index: ready again, and in step.
    importer.repair()
    importer.close()
    app.extensions["kb"].index._checked_at = 0.0
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert_conforms("get", "/readyz", answer)
    index, store = answer.get_json()["checks"]["index"], answer.get_json()["checks"]["store"]
    assert index["behind"] == 0
    assert index["revision"] == store["revision"]
    assert index["articles"] == store["articles"]


def test_readyz_is_not_ready_when_a_small_lag_stands_still_with_no_import_at_work(
    make_app, tmp_path
) -> None:
    config, app, client = started(make_app, tmp_path, ready_max_behind=1000, ready_stall_seconds=0)
    importer = KnowledgeBase(config)
    with importer.index.importing():
        # An import at work has stored an article and not indexed it yet: it will.
        importer.store.save_article(widget_article("910101", "Gizmo spooler jammed"), "imported")
        for _ in range(2):
            answer = client.get("/readyz")
            assert answer.status_code == 200
            index = answer.get_json()["checks"]["index"]
            assert index["behind"] == 1 and index["import_running"] is True
            time.sleep(0.2)
    # The import died there: the lag stands, and nothing will close it.
    later = client.get("/readyz")
    assert later.status_code == 503
    index = later.get_json()["checks"]["index"]
    assert index["import_running"] is False and index["stalled_seconds"] > 0
    assert "no import is running" in index["error"]
    importer.close()


def test_readyz_keeps_error_texts_for_the_log(make_app, tmp_path, monkeypatch, caplog) -> None:
    _, app, client = started(make_app, tmp_path)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire under /srv/secret/kb")

    monkeypatch.setattr(index_module.KBIndex, "document_count", broken)
    monkeypatch.setattr(Store, "count", broken)
    with caplog.at_level(logging.ERROR):
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert_conforms("get", "/readyz", answer)
    text = answer.get_data(as_text=True)
    assert "fire" not in text and "/srv/secret" not in text
    checks = answer.get_json()["checks"]
    assert checks["store"]["ok"] is False and checks["index"]["ok"] is False
    assert "disk on fire under /srv/secret/kb" in caplog.text


def test_requests_are_answered_while_the_index_cannot_be_reopened_then_it_heals(
    make_app, tmp_path, monkeypatch
) -> None:
    config, app, client = started(make_app, tmp_path)
    monkeypatch.setattr(index_module.KBIndex, "REFRESH_SECONDS", 0.0)  # look on every request

    def top_issue() -> str:
        answer = client.get("/v1/match", query_string={"line": SEED_LINE})
        assert answer.status_code == 200
        return answer.get_json()["matches"][0]["issue_id"]

    assert top_issue() == "264630-1"
    documents = client.get("/readyz").get_json()["checks"]["index"]["documents"]
    writer = KnowledgeBase(config)
    writer.save_article(parse_article(PLAIN_ARTICLE), "imported")
    opens = index_module.KBIndex.open
    failures = []

    def flaky_open(self, name=None):
        if len(failures) < 6:
            failures.append(name)
            raise FileNotFoundError("_kb_7.toc vanished")
        return opens(self, name)

    monkeypatch.setattr(index_module.KBIndex, "open", flaky_open)
    while len(failures) < 6:
        assert top_issue() == "264630-1"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert "vanished" not in ready.get_data(as_text=True)
        assert ready.get_json()["checks"]["index"]["documents"] == documents
    # Opening works again: the next request reads the index with the new article in it.
    assert top_issue() == "264630-1"
    assert client.get("/readyz").get_json()["checks"]["index"]["documents"] > documents
    writer.close()

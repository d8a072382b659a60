"""Every writer reaches the index through one method, KnowledgeBase.after_write, with the
revisions of its own writes; a store write that skipped it would leave the index behind."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.records import load_article_document
from service.kb import KnowledgeBase
from service.storage import Write
from tests.helpers import make_config
from tests.test_feedback import PASTE
from tests.test_importer import PLAIN_ARTICLE, archive_with, run_cli
from tests.test_writes import ARTICLE, LINE

# The store these tests write to is a SQLite file, then a PostgreSQL database.
pytestmark = pytest.mark.usefixtures("backend")

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def written(monkeypatch: pytest.MonkeyPatch) -> list[Write]:
    """Every write handed to `after_write`, in any KnowledgeBase, in order."""
    seen: list[Write] = []
    original = KnowledgeBase.after_write

    def spy(self: KnowledgeBase, writes: Any, **options: Any) -> int:
        writes = [w for w in writes if w is not None]
        seen.extend(w for w in writes if w.written)
        return original(self, writes, **options)

    monkeypatch.setattr(KnowledgeBase, "after_write", spy)
    return seen


@pytest.fixture()
def app(make_app):
    return make_app(api_tokens=[TOKEN])


def index_revision(knowledge: KnowledgeBase) -> int:
    return int(knowledge.index.read_state()["revision"])


def test_a_store_write_is_matchable_only_once_it_went_through_after_write(app) -> None:
    knowledge = app.extensions["kb"]
    client = app.test_client()
    write = knowledge.store.save_article(load_article_document(ARTICLE), "api")
    assert write.outcome == "created" and write.revision == knowledge.store.revision()
    assert knowledge.index_lags()
    assert client.get("/v1/match", query_string={"line": LINE}).get_json()["matches"] == []
    knowledge.after_write([write])
    assert not knowledge.index_lags()
    assert index_revision(knowledge) == write.revision
    top = client.get("/v1/match", query_string={"line": LINE}).get_json()["matches"][0]
    assert top["issue_id"] == "900100-1"


def test_put_and_delete_go_through_after_write(app, written: list[Write]) -> None:
    knowledge = app.extensions["kb"]
    client = app.test_client()
    assert client.put("/v1/articles/900100", json=ARTICLE, headers=AUTH).status_code == 201
    assert client.put("/v1/articles/900100", json=ARTICLE, headers=AUTH).status_code == 200
    assert client.delete("/v1/articles/900100", headers=AUTH).status_code == 204
    assert [(w.article_id, w.outcome) for w in written] == [
        ("900100", "created"),
        ("900100", "deleted"),
    ]
    assert [w.revision for w in written] == [
        index_revision(knowledge) - 1,
        index_revision(knowledge),
    ]
    assert not knowledge.index_lags()


def test_kb_import_goes_through_after_write(tmp_path, capsys, written: list[Write]) -> None:
    config = make_config(tmp_path)
    archive = archive_with(tmp_path, {"249077.txt": PLAIN_ARTICLE})
    code, _ = run_cli(config, "import", "--json", str(archive), capsys=capsys)
    assert code == 0
    assert ("249077", "created") in [(w.article_id, w.outcome) for w in written]
    knowledge = KnowledgeBase(config)
    try:
        assert not knowledge.index_lags()
        imported = next(w for w in written if w.article_id == "249077")
        assert index_revision(knowledge) >= imported.revision
    finally:
        knowledge.close()


def test_feedback_approval_and_removal_go_through_after_write(app, written: list[Write]) -> None:
    knowledge = app.extensions["kb"]
    client = app.test_client()

    def approved(helpful: bool, issue_id: str) -> None:
        given = client.post(
            "/v1/feedback", json={"log": PASTE, "issue_id": issue_id, "helpful": helpful}
        )
        assert given.status_code == 201
        feedback_id = given.get_json()["feedback"]["id"]
        response = client.post(f"/v1/feedback/{feedback_id}/approve", headers=AUTH)
        assert response.status_code == 200

    approved(True, "900001-1")
    approved(False, "264630-1")
    path = "/v1/issues/900001-1/learned/900001-1-l01"
    assert client.delete(path, headers=AUTH).status_code == 204
    assert [(w.article_id, w.outcome) for w in written] == [
        ("900001", "learned"),
        ("264630", "penalised"),
        ("900001", "unlearned"),
    ]
    assert not knowledge.index_lags()
    assert index_revision(knowledge) == written[-1].revision == knowledge.store.revision()


def test_a_quorum_that_applies_lines_at_once_goes_through_after_write(
    make_app, written: list[Write]
) -> None:
    app = make_app(api_tokens=[TOKEN], feedback_quorum=2)
    client = app.test_client()
    written.clear()  # the first build's articles
    for address in ("10.0.0.1", "10.0.0.2"):
        response = client.post(
            "/v1/feedback",
            json={"log": PASTE, "issue_id": "900001-1", "helpful": True},
            environ_base={"REMOTE_ADDR": address},
        )
        assert response.status_code == 201
    assert [(w.article_id, w.outcome) for w in written] == [("900001", "learned")]
    assert not app.extensions["kb"].index_lags()

"""Writes: only with a token, durable, seen by every worker, repaired after a crash."""

from __future__ import annotations

import copy
import time

import pytest

from service.importer import parse_article
from tests.helpers import built_then_stored_only, make_config
from tests.test_importer import PLAIN_ARTICLE

# The store these tests write to is a SQLite file, then a PostgreSQL database.
pytestmark = pytest.mark.usefixtures("backend")

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ARTICLE = {
    "id": "900100",
    "title": "Inventory agent cannot write its cache",
    "applies_to": [{"product": "Test Product", "version": "1.0"}],
    "issues": [{"id": "900100-1", "number": 1, "title": "Agent stops"}],
    "symptoms": [
        {
            "id": "900100-1-s01",
            "issue_id": "900100-1",
            "kind": "log_line",
            "text": "Hardware scanner aborted: cannot open WMI namespace root\\cimv2\\sms",
        }
    ],
    "workarounds": [
        {
            "id": "900100-w1",
            "issue_ids": ["900100-1"],
            "title": "Repair WMI",
            "steps": [{"number": 1, "text": "Run winmgmt /salvagerepository."}],
        }
    ],
}
LINE = "Hardware scanner aborted: cannot open WMI namespace root\\cimv2\\sms"


@pytest.fixture()
def writable(make_app):
    return make_app(api_tokens=[TOKEN])


def test_writes_are_off_without_a_configured_token(client) -> None:
    response = client.put("/v1/articles/900100", json=ARTICLE, headers=AUTH)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "KB_API_TOKENS" in response.get_json()["detail"]
    assert client.delete("/v1/articles/900001", headers=AUTH).status_code == 403
    # without credentials the answer is a 401 whatever the configuration
    assert client.delete("/v1/articles/900001").status_code == 401


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_a_missing_or_wrong_token_is_401(writable, headers) -> None:
    response = writable.test_client().put("/v1/articles/900100", json=ARTICLE, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.mimetype == "application/problem+json"


def test_put_creates_then_replaces_and_matching_sees_it(writable) -> None:
    client = writable.test_client()
    created = client.put("/v1/articles/900100", json=ARTICLE, headers=AUTH)
    assert created.status_code == 201
    assert created.headers["Location"] == "/v1/articles/900100"
    assert created.get_json()["source"] == "api"
    again = client.put("/v1/articles/900100", json=ARTICLE, headers=AUTH)
    assert again.status_code == 200
    top = client.get("/v1/match", query_string={"line": LINE}).get_json()["matches"][0]
    assert top["issue_id"] == "900100-1"
    changed = copy.deepcopy(ARTICLE)
    changed["symptoms"][0]["text"] = "Inventory scanner crashed while reading the MIF file"
    assert client.put("/v1/articles/900100", json=changed, headers=AUTH).status_code == 200
    assert client.get("/v1/match", query_string={"line": LINE}).get_json()["matches"] == []


def test_delete_removes_the_article_and_its_records(writable) -> None:
    client = writable.test_client()
    client.put("/v1/articles/900100", json=ARTICLE, headers=AUTH)
    assert client.delete("/v1/articles/Q900100", headers=AUTH).status_code == 204
    assert client.get("/v1/articles/900100").status_code == 404
    assert client.get("/v1/symptoms/900100-1-s01").status_code == 404
    assert client.delete("/v1/articles/900100", headers=AUTH).status_code == 404


def test_import_takes_raw_kb_text(writable) -> None:
    client = writable.test_client()
    response = client.post(
        "/v1/articles/import", data=PLAIN_ARTICLE, headers=AUTH, content_type="text/plain"
    )
    assert response.status_code == 201
    assert response.get_json()["id"] == "249077"
    bad = client.post(
        "/v1/articles/import", data="no title here\n", headers=AUTH, content_type="text/plain"
    )
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"


def test_an_article_file_in_windows_text_imports_over_http_as_from_the_cli(
    writable, tmp_path, capsys, monkeypatch
) -> None:
    # The archives are cp1252: "\u2022" is byte 0x95 there and not valid UTF-8 on its own.
    windows = PLAIN_ARTICLE.replace("249077", "249078").encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        windows.decode("utf-8")
    client = writable.test_client()
    response = client.post(
        "/v1/articles/import", data=windows, headers=AUTH, content_type="text/plain"
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] == "249078"
    first = client.get("/v1/articles/249078").get_json()
    assert first["applies_to"] == [
        {"product": "Microsoft Systems Management Server", "version": "2.0 SP1"}
    ]

    # The same bytes through `kb import` read the same way.
    from service.cli import main

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "249079.txt").write_bytes(windows.replace(b"249078", b"249079"))
    config = writable.config["KB_CONFIG"]
    if config.database_url:
        monkeypatch.setenv("KB_DATABASE_URL", config.database_url)
    assert main(["--home", str(config.kb_home), "import", str(tmp_path / "in")]) == 0
    capsys.readouterr()
    imported = client.get("/v1/articles/249079").get_json()
    assert (imported["title"], imported["applies_to"]) == (first["title"], first["applies_to"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**ARTICLE, "issues": []}, 422),
        ({**ARTICLE, "id": "900101"}, 422),
        ({**ARTICLE, "title": 7}, 422),
        ({**ARTICLE, "colour": "red"}, 422),
        (["not", "an", "object"], 400),
    ],
)
def test_invalid_articles_are_refused_with_the_field_named(writable, body, status) -> None:
    response = writable.test_client().put("/v1/articles/900100", json=body, headers=AUTH)
    assert response.status_code == status
    if status == 422:
        assert response.get_json()["errors"]


def test_curated_articles_are_changed_in_kb_data_not_through_the_api(writable) -> None:
    client = writable.test_client()
    seed = client.get("/v1/articles/264630").get_json()
    body = {k: seed[k] for k in ("id", "title")} | {
        "issues": [{"id": "264630-1", "number": 1, "title": "x"}]
    }
    assert client.put("/v1/articles/264630", json=body, headers=AUTH).status_code == 409
    assert client.delete("/v1/articles/264630", headers=AUTH).status_code == 409
    assert client.get("/v1/articles/264630").get_json()["title"] == seed["title"]


def test_another_worker_sees_a_write_within_its_refresh_interval(make_app, tmp_path) -> None:
    config = make_config(tmp_path, api_tokens=[TOKEN])
    writer, reader = make_app(config), make_app(config)  # two workers, one KB_HOME
    reads = reader.test_client()
    assert reads.get("/v1/match", query_string={"line": LINE}).get_json()["matches"] == []
    written_at = time.monotonic()
    writer.test_client().put("/v1/articles/900100", json=ARTICLE, headers=AUTH)
    assert reads.get("/v1/articles/900100").status_code == 200  # the store: at once
    while True:  # the index: within the searcher's refresh interval (one second)
        matches = reads.get("/v1/match", query_string={"line": LINE}).get_json()["matches"]
        if matches:
            break
        assert time.monotonic() - written_at < 10, "the other worker never saw the write"
        time.sleep(0.05)
    assert matches[0]["issue_id"] == "900100-1"


def test_a_write_the_index_missed_is_repaired_at_start(make_app, tmp_path) -> None:
    config = built_then_stored_only(tmp_path, parse_article(PLAIN_ARTICLE), "api")
    app = make_app(config)
    line = "Copylog.tcf was updated by site QQQ for component CLICORE"
    top = app.test_client().get("/v1/match", query_string={"line": line}).get_json()["matches"][0]
    assert top["article_id"] == "249077"

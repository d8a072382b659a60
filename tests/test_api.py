"""The read API: records with links a client can walk, pages, filters, and problem+json errors."""

from __future__ import annotations

import pytest
from flask import Flask


# Each read test runs against a SQLite store and a PostgreSQL one.
@pytest.fixture(scope="module")
def app(backend_app: Flask) -> Flask:
    return backend_app


def test_the_article_carries_every_linked_record(client) -> None:
    response = client.get("/v1/articles/264630")
    assert response.status_code == 200
    article = response.get_json()
    assert article["aliases"] == ["KB264630", "Q264630"]
    assert [i["id"] for i in article["issues"]] == ["264630-1", "264630-2"]
    assert {p["version"] for p in article["applies_to"]} == {"2.0", "2.0 SP1"}
    assert article["last_reviewed"] == "2006-04-26"
    assert article["links"]["self"] == "/v1/articles/264630"


@pytest.mark.parametrize("alias", ["Q264630", "KB264630", "kb264630"])
def test_aliases_answer_with_the_same_article(client, alias: str) -> None:
    assert client.get(f"/v1/articles/{alias}").get_json()["id"] == "264630"


def walk(client, start: str) -> dict[str, dict]:
    """Every record reachable from `start` by following links."""
    seen: dict[str, dict] = {}
    queue = [start]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        record = response.get_json()
        seen[url] = record
        for value in record.get("links", {}).values():
            for link in value if isinstance(value, list) else [value]:
                if link not in seen:
                    queue.append(link)
    return seen


def test_every_seed_record_is_reachable_by_following_links(client) -> None:
    records = walk(client, "/v1/articles/264630")
    symptoms = [r for u, r in records.items() if u.startswith("/v1/symptoms/")]
    causes = [r for u, r in records.items() if u.startswith("/v1/causes/")]
    workarounds = [r for u, r in records.items() if u.startswith("/v1/workarounds/")]
    assert len(symptoms) == 40
    assert sum(1 for s in symptoms if s["kind"] == "log_line") == 35
    assert {c["missing_update"] for c in causes} >= {"251070", "249077", "252718", "252717"}
    steps = [s["text"] for w in workarounds for s in w["steps"]]
    assert any("X86.BIN\\CLICORE.EXE=XXX" in s for s in steps)
    assert any("Ccrretry.box" in s for s in steps)
    assert any("Ccm.old" in s for s in steps)
    # and back: each symptom links to its issue, which lists it
    for symptom in symptoms:
        issue = records[symptom["links"]["issue"]]
        assert symptom["id"] in issue["symptom_ids"]


def test_lists_paginate_with_a_cursor(client) -> None:
    first = client.get("/v1/symptoms?limit=10").get_json()
    assert len(first["items"]) == 10
    second = client.get(first["links"]["next"]).get_json()
    assert second["items"][0]["id"] > first["items"][-1]["id"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("product=Systems+Management", ["264630"]),
        ("product=systems%20management%20server&version=2.0%20SP1", ["264630"]),
        ("version=3.0", []),
        ("keyword=kbprb", ["264630"]),
        ("keyword=kbtest", ["900001"]),
        ("", ["264630", "900001"]),
    ],
)
def test_articles_filter_by_product_version_and_keyword(client, query: str, expected) -> None:
    body = client.get(f"/v1/articles?{query}").get_json()
    assert [a["id"] for a in body["items"]] == expected


def test_issue_lists_filter_by_the_article_product(client) -> None:
    body = client.get("/v1/issues?product=Test+Product").get_json()
    assert [i["id"] for i in body["items"]] == ["900001-1"]


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/v1/articles/999999", 404),
        ("get", "/v1/issues/264630-9", 404),
        ("get", "/v1/symptoms/nope", 404),
        ("get", "/v1/causes/nope", 404),
        ("get", "/v1/workarounds/nope", 404),
        ("get", "/v1/nothing-here", 404),
        ("get", "/v1/articles?limit=0", 400),
        ("get", "/v1/articles?limit=201", 400),
        ("get", "/v1/articles?limit=ten", 400),
        ("get", "/v1/articles?article_id=abc", 400),
        ("get", "/v1/search", 400),
        ("get", "/v1/match", 400),
        ("get", "/v1/match?line=x&limit=51", 400),
        ("post", "/v1/articles", 405),
        ("delete", "/v1/issues/264630-1", 405),
        ("put", "/v1/match", 405),
    ],
)
def test_bad_requests_get_problem_json(client, method: str, url: str, status: int) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_bad_parameter_is_named(client) -> None:
    body = client.get("/v1/articles?limit=ten").get_json()
    assert body["errors"] == [{"field": "limit", "message": "Not a valid integer."}]


def test_an_issue_expands_to_its_causes_and_ordered_steps(client) -> None:
    plain = client.get("/v1/issues/264630-1").get_json()
    assert "workarounds" not in plain and "causes" not in plain
    body = client.get("/v1/issues/264630-1?expand=causes,workarounds").get_json()
    assert [c["id"] for c in body["causes"]] == body["cause_ids"]
    assert [w["id"] for w in body["workarounds"]] == body["workaround_ids"]
    assert "symptoms" not in body
    edit = next(w for w in body["workarounds"] if w["id"] == "264630-w2")
    assert [s["number"] for s in edit["steps"]] == list(range(1, len(edit["steps"]) + 1))
    assert any("CLICORE.EXE" in s["text"] for s in edit["steps"])
    assert edit["links"]["self"] == "/v1/workarounds/264630-w2"
    symptoms = client.get("/v1/issues/264630-2?expand=symptoms").get_json()["symptoms"]
    assert [s["id"] for s in symptoms][:2] == ["264630-2-s01", "264630-2-s02"]


def test_expanding_an_unknown_record_kind_is_refused_by_name(client) -> None:
    response = client.get("/v1/issues/264630-1?expand=causes,steps")
    assert response.status_code == 400
    [error] = response.get_json()["errors"]
    assert error["field"] == "expand" and "'steps'" in error["message"]


def test_method_not_allowed_says_which_methods_are(client) -> None:
    response = client.post("/v1/articles/264630")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_json_endpoints_refuse_an_accept_they_cannot_meet(client) -> None:
    response = client.get("/v1/articles", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.mimetype == "application/problem+json"
    ok = client.get("/v1/articles", headers={"Accept": "text/html, */*;q=0.1"})
    assert ok.status_code == 200


def test_an_unexpected_failure_is_a_problem_json_500(app, monkeypatch) -> None:
    from service.storage import Store

    def broken(self, article_id):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "get_article", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/v1/articles/264630")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "disk on fire" not in response.get_data(as_text=True)


def test_health_and_readiness(client) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready"
    assert ready["checks"]["store"]["articles"] == 2


def test_docs_render_without_external_assets(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/v1/match" in html
    assert "http://" not in html.replace("http://127.0.0.1", "")
    assert "https://" not in html
    spec = client.get("/openapi.yaml")
    assert spec.status_code == 200
    assert spec.get_data(as_text=True).startswith("openapi:")


def test_request_ids_are_made_by_the_server_and_a_clients_id_kept_beside(client) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "ticket-4711.a"})
    # A client's id never becomes the request id (feedback names matches by it), but it is
    # kept and returned as the correlation id.
    assert given.headers["X-Request-ID"] != "ticket-4711.a"
    assert len(given.headers["X-Request-ID"]) == 32
    assert given.headers["X-Correlation-ID"] == "ticket-4711.a"
    correlated = client.get("/healthz", headers={"X-Correlation-ID": "case-17"})
    assert correlated.headers["X-Correlation-ID"] == "case-17"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(made.headers["X-Request-ID"]) == 32
    assert "X-Correlation-ID" not in made.headers


def test_metrics_count_requests_and_match_outcomes(client) -> None:
    client.get("/v1/match", query_string={"line": "Trying to open IPC connection with APM..."})
    client.get("/v1/match", query_string={"line": "nothing of the kind"})
    client.get("/v1/issues/nope")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'kb_http_requests_total{method="GET",route="/v1/issues/<issue_id>",status="404"}' in text
    assert 'kb_match_outcomes_total{outcome="confident"}' in text
    assert 'kb_match_outcomes_total{outcome="none"}' in text
    assert "kb_http_request_duration_seconds_bucket" in text
    assert "kb_articles 2.0" in text
    assert "kb_index_documents" in text


def test_search_ignores_function_words_but_not_a_query_made_only_of_them(client) -> None:
    with_words = client.get("/v1/search?q=the+copylog+of+the+logon+point").get_json()
    without = client.get("/v1/search?q=copylog+logon+point").get_json()
    assert [r["article_id"] for r in with_words["results"]] == [
        r["article_id"] for r in without["results"]
    ]
    assert with_words["results"][0]["article_id"] == "264630"
    only_function_words = client.get("/v1/search?q=the+of").get_json()
    assert only_function_words["total"] > 0

"""What the contract says and what the app does are the same thing: types of JSON bodies,
patterns of parameters, which ids a write takes, media types, methods, and when writes show."""

from __future__ import annotations

import io
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from service.config import PROJECT_ROOT
from service.openapi import spec_dict
from service.ratelimit import EXEMPT_PATHS

SPEC = spec_dict()
TOKEN = "agreement-token"
PASTE = (
    'Component "Remote Control" moved from index 0 to 6  CCIM32\n'
    "Trying to open IPC connection with APM...  CCIM32\n"
)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, o) for p, ops in SPEC["paths"].items() for m, o in ops.items()]


def _is_valid(schema: dict[str, Any], value: Any) -> bool:
    """Whether `value` fits `schema`, a schema of the contract (its `$ref`s resolved in it)."""
    return Draft202012Validator({**schema, "components": SPEC["components"]}).is_valid(value)


def _component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _parameter(path: str, method: str, name: str) -> dict[str, Any]:
    for parameter in SPEC["paths"][path][method]["parameters"]:
        if "$ref" in parameter:
            parameter = SPEC["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter.get("name") == name:
            return parameter
    raise AssertionError(f"{method} {path} has no parameter {name}")


# -- JSON bodies are strict, query parameters are text ---------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"log": PASTE, "limit": 3}, 200),
        ({"log": PASTE, "limit": "3"}, 422),
        ({"log": PASTE, "limit": 3.5}, 422),
        ({"log": PASTE, "limit": True}, 422),
    ],
)
def test_a_json_match_body_takes_limit_as_a_number_only(client, body, status: int) -> None:
    response = client.post("/v1/match", json=body)
    assert response.status_code == status
    assert _is_valid(_component("MatchBody"), body) == (status == 200)


def test_a_query_limit_is_text_and_read_as_a_number(client) -> None:
    response = client.get("/v1/match", query_string={"line": PASTE.splitlines()[0], "limit": "3"})
    assert response.status_code == 200


def test_an_article_number_sent_as_a_string_is_refused(make_app) -> None:
    client = make_app(api_tokens=[TOKEN]).test_client()
    body = {"title": "T", "issues": [{"id": "900100-1", "number": "1", "title": "An issue"}]}
    response = client.put(
        "/v1/articles/900100", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "issues.0.number"
    assert not _is_valid(_component("ArticleDocumentInput"), body)


@pytest.mark.parametrize("absent", ["request_id", "log"])
def test_feedback_null_for_an_absent_source_is_refused_as_the_types_say(client, absent) -> None:
    body = {"request_id": "0" * 32, "log": PASTE, "issue_id": "264630-1", "helpful": True}
    body[absent] = None
    response = client.post("/v1/feedback", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == absent
    assert not _is_valid(_component("FeedbackBody"), body)


# -- parameters follow their patterns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("expand", "status"),
    [
        ("causes", 200),
        ("causes,workarounds", 200),
        ("", 200),
        ("causes,", 400),
        (",causes", 400),
        ("causes,,symptoms", 400),
        ("causes, workarounds", 400),
        ("steps", 400),
    ],
)
def test_expand_is_refused_exactly_when_its_pattern_refuses_it(client, expand, status) -> None:
    response = client.get("/v1/issues/264630-1", query_string={"expand": expand})
    assert response.status_code == status
    if status == 400:
        assert response.get_json()["errors"][0]["field"] == "expand"
    schema = _parameter("/v1/issues/{issue_id}", "get", "expand")["schema"]
    assert _is_valid(schema, expand) == (status == 200)


def test_put_takes_an_article_number_and_refuses_an_alias_as_its_path_says(make_app) -> None:
    client = make_app(api_tokens=[TOKEN]).test_client()
    body = {"title": "T", "issues": [{"id": "900100-1", "number": 1, "title": "An issue"}]}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    refused = client.put("/v1/articles/Q900100", json=body, headers=headers)
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == [
        {"field": "article_ref", "message": "must be digits, e.g. 900100"}
    ]
    assert client.put("/v1/articles/900100", json=body, headers=headers).status_code == 201
    schema = _parameter("/v1/articles/{article_ref}", "put", "article_ref")["schema"]
    assert _is_valid(schema, "900100") and not _is_valid(schema, "Q900100")
    # DELETE, like GET, still takes an alias: Q900100 names what PUT wrote as 900100.
    assert client.delete("/v1/articles/Q900100", headers=headers).status_code == 204
    delete_schema = _parameter("/v1/articles/{article_ref}", "delete", "article_ref")["schema"]
    assert _is_valid(delete_schema, "Q900100")


def test_puts_examples_pair_a_path_with_the_body_it_writes() -> None:
    operation = SPEC["paths"]["/v1/articles/{article_ref}"]["put"]
    path_example = _parameter("/v1/articles/{article_ref}", "put", "article_ref")["example"]
    body_example = operation["requestBody"]["content"]["application/json"]["example"]
    assert path_example == body_example["id"]
    assert "examples" not in _parameter("/v1/articles/{article_ref}", "put", "article_ref")


def test_the_put_input_schema_requires_what_the_code_requires(make_app) -> None:
    client = make_app(api_tokens=[TOKEN]).test_client()
    body = {"title": "T", "issues": [{}]}
    response = client.put(
        "/v1/articles/900100", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 422
    assert not _is_valid(_component("ArticleDocumentInput"), body)


def test_the_paste_page_takes_a_file_alone_as_its_form_schema_says(client) -> None:
    form = {"log": "", "logfile": (io.BytesIO(PASTE.encode()), "Clisvc.log")}
    response = client.post("/", data=form, content_type="multipart/form-data")
    assert response.status_code == 200
    schema = SPEC["paths"]["/"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert _is_valid(schema, {"log": "", "logfile": PASTE})
    assert _is_valid(schema, {"logfile": PASTE})
    assert not _is_valid(schema, {"log": " "})
    assert not _is_valid(schema, {})


# -- media types and methods ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/articles", "/v1/issues/264630-1", "/v1/stats"])
def test_accepting_only_problem_json_is_a_406_since_only_errors_are_problems(client, path) -> None:
    response = client.get(path, headers={"Accept": "application/problem+json"})
    assert response.status_code == 406
    assert response.mimetype == "application/problem+json"
    both = client.get(path, headers={"Accept": "application/problem+json, application/json"})
    assert both.status_code == 200 and both.mimetype == "application/json"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/v1/articles", "GET, HEAD"), ("/", "GET, HEAD, POST"), ("/v1/match", "GET, HEAD, POST")],
)
def test_options_is_a_405_problem_naming_the_methods_the_path_takes(client, path, allowed) -> None:
    response = client.open(path, method="OPTIONS")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize(("path", "method", "operation"), _operations())
def test_every_operation_documents_405_with_allow_and_the_servers_refusals(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    responses = operation["responses"]
    assert responses["405"] == {"$ref": "#/components/responses/MethodNotAllowed"}
    assert "Allow" in SPEC["components"]["responses"]["MethodNotAllowed"]["headers"]
    assert {"414", "431"} <= set(responses)
    if path not in EXEMPT_PATHS:
        assert "429" in responses


def test_the_servers_refusals_are_problems_without_an_instance() -> None:
    for name in ("UriTooLong", "HeadersTooLarge"):
        media = SPEC["components"]["responses"][name]["content"]["application/problem+json"]
        assert "instance" not in media["example"]
        assert _is_valid(_component("Problem"), media["example"])


# -- where a client reads when a write shows --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v1/articles/{article_ref}", "put"),
        ("/v1/articles/{article_ref}", "delete"),
        ("/v1/articles/import", "post"),
    ],
)
def test_writes_say_matching_sees_them_within_about_a_second(path: str, method: str) -> None:
    assert "within about a second" in SPEC["paths"][path][method]["description"]


def test_the_readme_says_matching_sees_a_write_within_about_a_second() -> None:
    readme = " ".join((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "seen by matching in every worker within about a second" in readme

"""openapi.yaml is a valid contract, covers every route, and the app's answers conform to it."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec

from service.config import PROJECT_ROOT

SPEC = yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SEED_LINE = "Trying to open IPC connection with APM...  CCIM32"


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operation_for(method: str, path: str) -> tuple[str, dict]:
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method in item:
            return template, item[method]
    raise AssertionError(f"{method.upper()} {path} is not in openapi.yaml")


def assert_conforms(method: str, path: str, response) -> None:
    template, operation = operation_for(method, path)
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {template} never answers {status}"
    declared = resolve(operation["responses"][status]).get("content", {})
    if not declared:
        assert not response.data and "Content-Type" not in response.headers
        return
    assert response.mimetype in declared, (
        f"{method.upper()} {template} {status} answered {response.mimetype}, "
        f"the contract says {sorted(declared)}"
    )
    schema = declared[response.mimetype].get("schema")
    if schema is None or not response.mimetype.endswith("json"):
        return
    validator = Draft202012Validator({**schema, "components": SPEC["components"]})
    errors = sorted(validator.iter_errors(response.get_json()), key=lambda e: list(e.path))
    assert not errors, f"{method.upper()} {path}: {errors[0].message} at {list(errors[0].path)}"


def test_the_document_is_valid_openapi() -> None:
    validate_spec(SPEC)
    assert SPEC["openapi"].startswith("3.")


def test_every_route_is_in_the_contract_and_back(app) -> None:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    documented = {
        (method, path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert routes == documented


def test_every_operation_has_an_example_for_its_success(app) -> None:
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "delete"):
                continue
            success = resolve(operation["responses"].get("200", {}))
            media = success.get("content", {}).get("application/json")
            if media is not None:
                assert "example" in media or "examples" in media, f"{method} {path}"


REQUESTS = [
    ("get", "/healthz", {}),
    ("get", "/readyz", {}),
    ("get", "/openapi.json", {}),
    ("get", "/openapi.yaml", {}),
    ("get", "/docs", {}),
    ("get", "/v1/articles", {}),
    ("get", "/v1/articles?limit=1", {}),
    ("get", "/v1/articles/264630", {}),
    ("get", "/v1/articles/Q264630", {}),
    ("get", "/v1/articles/900001", {}),
    ("get", "/v1/articles/1", {}),
    ("get", "/v1/articles?limit=0", {}),
    ("get", "/v1/articles", {"headers": {"Accept": "image/png"}}),
    ("get", "/v1/issues", {}),
    ("get", "/v1/issues/264630-1", {}),
    ("get", "/v1/issues/264630-1?expand=symptoms,causes,workarounds", {}),
    ("get", "/v1/issues/264630-1?expand=everything", {}),
    ("get", "/v1/issues/nope", {}),
    ("get", "/v1/symptoms?limit=5", {}),
    ("get", "/v1/symptoms/264630-1-s05", {}),
    ("get", "/v1/causes", {}),
    ("get", "/v1/causes/264630-c1", {}),
    ("get", "/v1/workarounds", {}),
    ("get", "/v1/workarounds/264630-w2", {}),
    ("get", "/v1/workarounds/nope", {}),
    ("get", "/v1/search?q=copylog", {}),
    ("get", "/v1/search?q=", {}),
    ("get", "/v1/match?line=" + SEED_LINE, {}),
    ("get", "/v1/match?line=nothing+at+all", {}),
    ("get", "/v1/match", {}),
    ("post", "/v1/match", {"data": SEED_LINE, "content_type": "text/plain"}),
    ("post", "/v1/match", {"json": {"log": SEED_LINE, "limit": 2}}),
    ("post", "/v1/match", {"json": {"limit": 2}}),
    ("post", "/v1/match", {"data": b"x", "content_type": "image/png"}),
    ("post", "/v1/match", {"data": b"\xff\xfeA\x00B", "content_type": "text/plain"}),
    ("get", "/articles/264630", {}),
    ("get", "/articles/999999", {}),
    ("get", "/articles/999999", {"headers": {"Accept": "text/html"}}),
    ("get", "/issues/264630-1", {}),
    ("get", "/issues/nope", {}),
    ("get", "/issues/nope", {"headers": {"Accept": "text/html"}}),
]


@pytest.mark.parametrize(
    ("method", "url", "kwargs"), REQUESTS, ids=[f"{m} {u}" for m, u, _ in REQUESTS]
)
def test_responses_conform_to_the_contract(client, method: str, url: str, kwargs: dict) -> None:
    response = getattr(client, method)(url, **kwargs)
    assert_conforms(method, url.split("?", 1)[0], response)

"""The contract is built from the code: the committed openapi.yaml is that build, its examples
fit its schemas, response objects are closed, and its numbers are the code's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from service import limits
from service.cli import main
from service.config import PROJECT_ROOT
from service.openapi import spec_dict, spec_yaml

SPEC = spec_dict()
# Response objects whose keys are not fixed: the contract document itself.
OPEN_OBJECTS = {"OpenApiDocument"}


def test_committed_openapi_yaml_is_what_the_code_builds() -> None:
    committed = (PROJECT_ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == spec_yaml(), (
        "openapi.yaml differs from the contract the code builds: run `make openapi` "
        "(or `kb openapi > openapi.yaml`) and commit the result"
    )


def test_kb_openapi_prints_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["openapi"]) == 0
    assert capsys.readouterr().out == spec_yaml()


def test_the_served_contract_is_the_committed_one(client) -> None:
    committed = (PROJECT_ROOT / "openapi.yaml").read_bytes()
    assert client.get("/openapi.yaml").data == committed
    assert client.get("/openapi.json").get_json() == SPEC


def _json_examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every JSON example of the contract."""
    responses = SPEC["components"]["responses"]
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            places = dict(operation["responses"])
            if "requestBody" in operation:
                places["request"] = operation["requestBody"]
            for status, place in places.items():
                if "$ref" in place:
                    place = responses[place["$ref"].rsplit("/", 1)[-1]]
                for media_type, media in place.get("content", {}).items():
                    if not media_type.endswith("json"):
                        continue
                    where = f"{method.upper()} {path} {status} {media_type}"
                    if "example" in media:
                        yield where, media["schema"], media["example"]
                    for name, example in media.get("examples", {}).items():
                        yield f"{where} ({name})", media["schema"], example["value"]


@pytest.mark.parametrize(("where", "schema", "example"), list(_json_examples()))
def test_every_json_example_fits_its_schema(where: str, schema: dict, example: Any) -> None:
    validator = Draft202012Validator({**schema, "components": SPEC["components"]})
    errors = sorted(validator.iter_errors(example), key=lambda e: list(e.path))
    assert not errors, f"{where}: {errors[0].message} at {list(errors[0].path)}"


def test_response_objects_are_closed() -> None:
    open_objects = {
        name
        for name, schema in SPEC["components"]["schemas"].items()
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False
    }
    assert open_objects == OPEN_OBJECTS


def test_unknown_body_fields_are_a_422_in_the_contract_and_the_code(client) -> None:
    paste = SPEC["components"]["schemas"]["MatchBody"]
    assert paste["additionalProperties"] is False
    assert "422" in SPEC["paths"]["/v1/match"]["post"]["responses"]
    response = client.post("/v1/match", json={"log": "x", "colour": "blue"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "colour", "message": "Unknown field."}]


def _query_parameter(path: str, method: str, name: str) -> dict[str, Any]:
    parameters = SPEC["paths"][path][method]["parameters"]
    return next(p for p in parameters if p.get("name") == name)


@pytest.mark.parametrize(
    ("path", "default", "maximum"),
    [
        ("/v1/articles", limits.PAGE_LIMIT_DEFAULT, limits.PAGE_LIMIT_MAX),
        ("/v1/feedback/pending", limits.PAGE_LIMIT_DEFAULT, limits.PAGE_LIMIT_MAX),
        ("/v1/match", limits.MATCH_LIMIT_DEFAULT, limits.MATCH_LIMIT_MAX),
        ("/v1/search", limits.SEARCH_LIMIT_DEFAULT, limits.SEARCH_LIMIT_MAX),
        ("/v1/stats", limits.STATS_LIMIT_DEFAULT, limits.STATS_LIMIT_MAX),
    ],
)
def test_the_contract_states_the_limits_the_code_applies(
    client, path: str, default: int, maximum: int
) -> None:
    schema = _query_parameter(path, "get", "limit")["schema"]
    assert (schema["default"], schema["minimum"], schema["maximum"]) == (default, 1, maximum)
    if path == "/v1/match":
        body = SPEC["components"]["schemas"]["MatchBody"]["properties"]["limit"]
        assert (body["default"], body["maximum"]) == (default, maximum)
    assert client.get(f"{path}?limit={maximum + 1}&line=x&q=x").status_code in (400, 401)


def _json_body_fields(operation: dict[str, Any]) -> set[str]:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return set()
    schema = media["schema"]
    if "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def test_no_query_parameter_a_body_can_override_states_a_default() -> None:
    # A generated client sends a parameter's default on every call, and the query string wins
    # over the body: a default there would silence the body's field.
    checked = 0
    for item in SPEC["paths"].values():
        for operation in item.values():
            fields = _json_body_fields(operation)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter["name"] in fields:
                    checked += 1
                    assert "default" not in parameter["schema"], parameter["name"]
    assert checked == 4  # POST /v1/match: limit, product, version, detail

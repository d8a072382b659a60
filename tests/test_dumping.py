"""Answer schemas dump what marshmallow would: the fast plan changes the cost, never the output."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from marshmallow import Schema, fields, post_dump

from schemas.dumping import OutSchema, _plan
from tests.helpers import SEED_TEXT


def marshmallows_own(schema: Schema, obj: Any, monkeypatch: pytest.MonkeyPatch, **kw) -> Any:
    """`schema.dump(obj)` with every answer schema (nested ones too) dumped by marshmallow."""
    with monkeypatch.context() as patched:
        patched.setattr(OutSchema, "dump", Schema.dump)
        return schema.dump(obj, **kw)


class PartOut(OutSchema):
    name = fields.String()
    size = fields.Integer()


class EveryKindOut(OutSchema):
    text = fields.String()
    count = fields.Integer()
    ratio = fields.Float()
    flag = fields.Boolean()
    words = fields.List(fields.String())
    numbers = fields.List(fields.Integer())
    part = fields.Nested(PartOut)
    parts = fields.List(fields.Nested(PartOut))
    many_parts = fields.Nested(PartOut, many=True)
    mapping = fields.Dict()
    renamed = fields.String(data_key="renamed-key")
    read_from = fields.Integer(attribute="elsewhere")
    anything = fields.Raw()


ODD_VALUES = {
    # Values of other types than a field's, as code may hand them: each converted as
    # marshmallow converts it.
    "text": b"bytes",
    "count": 3.9,
    "ratio": 2,
    "flag": "yes",
    "words": ["a", None, 7],
    "numbers": [1.5, None],
    "part": {"name": "n", "size": "5", "ignored": 1},
    "parts": [{"name": "x"}, None],
    "many_parts": [{"size": 1}, {}],
    "mapping": {"k": [1, 2]},
    "renamed": "r",
    "elsewhere": "12",
    "anything": {"as": ("it", "is")},
}


@pytest.mark.parametrize(
    "obj",
    [
        ODD_VALUES,
        {},
        {name: None for name in ODD_VALUES},
        {"text": "only one", "flag": 0, "unknown": "left out"},
    ],
    ids=["odd-values", "empty", "all-none", "some-missing"],
)
def test_a_record_dumps_as_marshmallow_dumps_it(obj, monkeypatch) -> None:
    assert _plan(EveryKindOut()) is not None, "every field of the schema is planned"
    # Compared as JSON: the same types (2.0, not 2) and the keys in the schema's order.
    fast = json.dumps(EveryKindOut().dump(obj))
    assert fast == json.dumps(marshmallows_own(EveryKindOut(), obj, monkeypatch))


def test_many_records_and_objects_that_are_not_dictionaries(monkeypatch) -> None:
    class Record:
        name = "an object"
        size = 2

    records = [{"name": "a", "size": 1}, {"name": "b"}]
    assert PartOut(many=True).dump(records) == [{"name": "a", "size": 1}, {"name": "b"}]
    assert PartOut().dump(records, many=True) == marshmallows_own(
        PartOut(), records, monkeypatch, many=True
    )
    # Read by attribute, as marshmallow reads objects.
    assert PartOut().dump(Record()) == {"name": "an object", "size": 2}
    assert PartOut().dump([Record(), {"name": "c"}], many=True) == [
        {"name": "an object", "size": 2},
        {"name": "c"},
    ]


def test_a_schema_with_a_hook_is_dumped_by_marshmallow() -> None:
    class HookedOut(OutSchema):
        name = fields.String()

        @post_dump
        def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {key: value.upper() for key, value in data.items()}

    assert HookedOut().dump({"name": "quiet"}) == {"name": "QUIET"}


def test_a_field_type_the_plan_does_not_know_is_dumped_by_marshmallow() -> None:
    class DatedOut(OutSchema):
        when = fields.Date()
        name = fields.String(dump_default="unnamed")
        as_text = fields.Integer(as_string=True)

    assert DatedOut().dump({"when": datetime.date(2000, 10, 2), "as_text": 4.0}) == {
        "when": "2000-10-02",
        "name": "unnamed",
        "as_text": "4",
    }


READS = [
    "/v1/articles/264630",
    "/v1/articles?limit=5",
    "/v1/issues/264630-1",
    "/v1/issues?limit=5",
    "/v1/symptoms?limit=5",
    "/v1/causes?limit=5",
    "/v1/workarounds?limit=5",
    "/v1/search?q=client+access+denied",
    "/v1/products",
    "/v1/stats",
]


def test_answers_of_the_api_are_what_marshmallow_would_give(client, monkeypatch) -> None:
    """Every kind of answer, matches in full and brief included, the same byte for byte."""
    seed_errors = "\n".join(line for line in SEED_TEXT.read_text().splitlines() if "ERROR" in line)

    def reads() -> list[Any]:
        return [client.get(path).get_json() for path in READS]

    def matches() -> list[Any]:
        bodies = []
        for detail in ("full", "brief"):
            response = client.post(f"/v1/match?detail={detail}", data=seed_errors)
            body = response.get_json()
            assert body["matches"], "the seed article's own error lines match it"
            body.pop("request_id")
            bodies.append(body)
        return bodies

    # Reads first, both ways, before the matches change what /v1/stats counts.
    fast_reads = reads()
    with monkeypatch.context() as patched:
        patched.setattr(OutSchema, "dump", Schema.dump)
        assert reads() == fast_reads
    fast_matches = matches()
    with monkeypatch.context() as patched:
        patched.setattr(OutSchema, "dump", Schema.dump)
        assert matches() == fast_matches

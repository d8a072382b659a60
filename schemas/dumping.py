"""Answer schemas that dump fast: the same output as marshmallow's `Schema.dump`, worked out once.

marshmallow dumps a record by asking every field, through several generic layers, for its
value and its serialised form: about 5 microseconds a field, which for a match answer (matches,
their matched lines, causes, steps) is a good part of what a one-line lookup costs. The answer
schemas are plain: dictionaries in, fields of a few simple types, no hooks. `OutSchema` reads a
schema's fields once into a plan (key, how to turn the value into JSON) and dumps dictionaries
by the plan. Whatever the plan does not know (another field type, a dump default, a hook, an
object that is not a dictionary) is dumped by marshmallow itself, so the output is the same
whatever the schema holds; tests/test_dumping.py compares the two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing, utils

Convert = Callable[[Any], Any]
# (attribute read, key written, conversion of a value that is not None)
Step = tuple[str, str, Convert]


class OutSchema(Schema):
    """A schema of an answer: `dump` gives what `Schema.dump` gives, faster for dictionaries."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        plan = self.__dict__.get("_dump_plan", missing)
        if plan is missing:
            plan = self.__dict__["_dump_plan"] = _plan(self)
        many = self.many if many is None else many
        if plan is None:
            return super().dump(obj, many=many)
        if many:
            items = list(obj)
            if all(type(item) is dict for item in items):
                return [_dump_one(plan, item) for item in items]
            return super().dump(items, many=True)
        if type(obj) is dict:
            return _dump_one(plan, obj)
        return super().dump(obj, many=False)


def _dump_one(plan: list[Step], obj: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for attr, key, convert in plan:
        value = obj.get(attr, missing)
        if value is missing:
            continue
        out[key] = None if value is None else convert(value)
    return out


def _plan(schema: Schema) -> list[Step] | None:
    """The schema's dump as steps, or None when a part of it needs marshmallow's own dump."""
    if any(schema._hooks.get(hook) for hook in ("pre_dump", "post_dump")):
        return None
    steps = []
    for attr, field in schema.dump_fields.items():
        convert = _conversion(field)
        if convert is None or field.dump_default is not missing or "." in attr:
            return None
        read = field.attribute or attr
        steps.append((read, field.data_key or attr, convert))
    return steps


def _conversion(field: fields.Field) -> Convert | None:
    """How `field` serialises a value other than None, or None when the plan cannot say.

    Told by the method the field's class serialises with, so that a subclass that only
    documents itself differently (AsBuilt) is planned like its base, one that serialises
    otherwise is not.
    """
    serialise = type(field)._serialize
    if serialise is fields.Field._serialize:
        # Dumped as it is (fields.Boolean and fields.Raw among them).
        return _same
    if serialise is fields.String._serialize:
        return utils.ensure_text_type
    if (
        serialise is fields.Number._serialize
        and type(field)._format_num is fields.Number._format_num
        and not field.as_string
    ):
        return field.num_type
    if serialise is fields.List._serialize:
        inner = _conversion(field.inner)
        if inner is None:
            return None
        return lambda values: [None if v is None else inner(v) for v in values]
    if (
        serialise is fields.Mapping._serialize
        and field.key_field is None
        and field.value_field is None
    ):
        # A mapping with no field for its keys or values is dumped as a copy.
        return field.mapping_type
    if serialise is fields.Nested._serialize and isinstance(field.schema, OutSchema):
        nested = field.schema
        many = bool(nested.many or field.many)
        return lambda value: nested.dump(value, many=many)
    return None


def _same(value: Any) -> Any:
    return value

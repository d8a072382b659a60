"""Schemas of the curated records: one article with its issues, symptoms, causes and workarounds.

The same schema validates a `kb_data/*.yaml` file, the body of `PUT /v1/articles/{id}` and what
the importer produces, so every way into the store is checked by one set of rules.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

KB_NUMBER = validate.Regexp(
    r"^[0-9]{1,8}$", error="must be a KB number made of digits, e.g. 264630"
)
RECORD_ID = validate.Regexp(
    r"^[0-9]{1,8}(-[A-Za-z0-9]+)*$",
    error="must start with the article's KB number, e.g. 264630-1-s01",
)
SYMPTOM_KINDS = ("log_line", "error_message", "condition")


class JsonInteger(fields.Integer):
    """An integer as JSON Schema's `integer` is: a number with no fractional part (`3` or
    `3.0`), never a string (`"3"`) or a boolean. For bodies, whose values have types; query
    parameters are text and keep `fields.Integer`, which reads "3" as 3."""

    def _validated(self, value: Any) -> int:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or (isinstance(value, float) and not value.is_integer()):
            raise self.make_error("invalid")
        return super()._validated(value)


def _count(**kwargs: Any) -> fields.Integer:
    """A number in a record (YAML files and the importer give numbers as numbers)."""
    return JsonInteger(**kwargs)


class StrictSchema(Schema):
    """Unknown fields are an error: a typo in a data file must not vanish silently."""

    class Meta:
        unknown = "raise"


class ProductSchema(StrictSchema):
    product = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "The product's name.", "example": "Test Product"},
    )
    version = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "Its version; empty or absent when the article names none."},
    )


class SectionSchema(StrictSchema):
    key = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"),
        metadata={"description": "What the part is, in lower case.", "example": "cause"},
    )
    heading = fields.String(
        required=True,
        validate=validate.Length(min=1, max=300),
        metadata={"description": "Its heading as written.", "example": "CAUSE"},
    )
    body = fields.String(required=True, metadata={"description": "Its text."})


class RelatedArticleSchema(StrictSchema):
    article_id = fields.String(required=True, validate=KB_NUMBER)
    title = fields.String(load_default="", validate=validate.Length(max=500))
    reason = fields.String(load_default="")


class IssueSchema(StrictSchema):
    """One problem the article describes."""

    id = fields.String(
        required=True,
        validate=RECORD_ID,
        metadata={"description": "The KB number, a dash, the issue number.", "example": "900100-1"},
    )
    number = _count(required=True, validate=validate.Range(min=1))
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default="")


class SymptomSchema(StrictSchema):
    """A log line, error message or condition the article quotes for one of its issues."""

    id = fields.String(required=True, validate=RECORD_ID, metadata={"example": "900100-1-s01"})
    issue_id = fields.String(
        required=True, validate=RECORD_ID, metadata={"description": "An issue of this article."}
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(SYMPTOM_KINDS),
        metadata={"description": "`log_line` lines are matched against pasted logs."},
    )
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=10_000),
        metadata={"description": "Word for word as the article quotes it."},
    )
    log_files = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), load_default=list
    )
    occurrences = _count(load_default=1, validate=validate.Range(min=1))


class CauseSchema(StrictSchema):
    """Why one or more of the article's issues happen."""

    id = fields.String(required=True, validate=RECORD_ID, metadata={"example": "900100-c1"})
    issue_ids = fields.List(
        fields.String(validate=RECORD_ID), required=True, validate=validate.Length(min=1)
    )
    text = fields.String(required=True, validate=validate.Length(min=1))
    missing_update = fields.String(
        load_default=None,
        allow_none=True,
        validate=KB_NUMBER,
        metadata={"description": "The KB number of an update whose absence is the cause."},
    )
    applies_to_sites = fields.String(load_default=None, allow_none=True)


class StepSchema(StrictSchema):
    number = _count(required=True, validate=validate.Range(min=1))
    text = fields.String(required=True, validate=validate.Length(min=1))
    warnings = fields.List(fields.String(), load_default=list)
    notes = fields.List(fields.String(), load_default=list)


class WorkaroundSchema(StrictSchema):
    """A way to fix or avoid one or more of the article's issues; steps numbered 1, 2, 3..."""

    id = fields.String(required=True, validate=RECORD_ID, metadata={"example": "900100-w1"})
    issue_ids = fields.List(
        fields.String(validate=RECORD_ID), required=True, validate=validate.Length(min=1)
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default="")
    preconditions = fields.List(fields.String(), load_default=list)
    warnings = fields.List(fields.String(), load_default=list)
    steps = fields.List(fields.Nested(StepSchema), load_default=list)


class ArticleDocumentSchema(StrictSchema):
    """A whole article with its linked records, as stored in one `kb_data` file."""

    id = fields.String(
        required=True,
        validate=KB_NUMBER,
        metadata={
            "description": "The KB number; through the API, the one in the path (may be left out).",
            "example": "900100",
        },
    )
    aliases = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)),
        load_default=list,
        metadata={"description": "Other names the article is fetched by.", "example": ["Q900100"]},
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    applies_to = fields.List(fields.Nested(ProductSchema), load_default=list)
    keywords = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)), load_default=list
    )
    modification_type = fields.String(load_default=None, allow_none=True)
    last_reviewed = fields.Date(load_default=None, allow_none=True)
    summary = fields.String(load_default="")
    sections = fields.List(fields.Nested(SectionSchema), load_default=list)
    related = fields.List(fields.Nested(RelatedArticleSchema), load_default=list)
    issues = fields.List(fields.Nested(IssueSchema), required=True, validate=validate.Length(min=1))
    symptoms = fields.List(fields.Nested(SymptomSchema), load_default=list)
    causes = fields.List(fields.Nested(CauseSchema), load_default=list)
    workarounds = fields.List(fields.Nested(WorkaroundSchema), load_default=list)

    @validates_schema
    def check_links(self, data: dict[str, Any], **_: Any) -> None:
        """Every id is unique, belongs to this article, and every link points at a record here."""
        article_id = data["id"]
        errors: dict[str, Any] = {}
        seen: set[str] = set()
        for collection in ("issues", "symptoms", "causes", "workarounds"):
            for position, record in enumerate(data.get(collection, [])):
                record_id = record["id"]
                if not record_id.startswith(article_id + "-"):
                    errors.setdefault(collection, {})[position] = {
                        "id": [f"must start with '{article_id}-' (the article's KB number)"]
                    }
                if record_id in seen:
                    errors.setdefault(collection, {})[position] = {
                        "id": [f"duplicate id {record_id!r}"]
                    }
                seen.add(record_id)
        issue_ids = {issue["id"] for issue in data.get("issues", [])}
        for position, symptom in enumerate(data.get("symptoms", [])):
            if symptom["issue_id"] not in issue_ids:
                errors.setdefault("symptoms", {})[position] = {
                    "issue_id": [f"unknown issue {symptom['issue_id']!r}"]
                }
        for collection in ("causes", "workarounds"):
            for position, record in enumerate(data.get(collection, [])):
                unknown = [i for i in record["issue_ids"] if i not in issue_ids]
                if unknown:
                    errors.setdefault(collection, {})[position] = {
                        "issue_ids": [f"unknown issue(s) {', '.join(unknown)}"]
                    }
        for position, workaround in enumerate(data.get("workarounds", [])):
            numbers = [step["number"] for step in workaround.get("steps", [])]
            if numbers != list(range(1, len(numbers) + 1)):
                errors.setdefault("workarounds", {})[position] = {
                    "steps": ["step numbers must run 1, 2, 3... in order"]
                }
        if errors:
            raise ValidationError(errors)


# One instance: building a schema (and its nested schemas) costs more than a load.
_ARTICLE_SCHEMA = ArticleDocumentSchema()


def load_article_document(data: Any) -> dict[str, Any]:
    """Validate raw data (from YAML, JSON or the importer) and return the loaded article."""
    if not isinstance(data, dict):
        raise ValidationError({"_schema": ["an article must be a mapping of fields"]})
    return _ARTICLE_SCHEMA.load(data)

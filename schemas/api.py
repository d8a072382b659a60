"""Schemas of the HTTP API: query arguments, request bodies and response bodies."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)


class QueryArgsSchema(Schema):
    """Query strings may carry extra parameters (cache busters, tracking); they are ignored."""

    class Meta:
        unknown = EXCLUDE


class ListArgsSchema(QueryArgsSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    product = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    version = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    keyword = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    article_id = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{1,8}$"))


class MatchArgsSchema(QueryArgsSchema):
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=50))
    product = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    version = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class MatchLineArgsSchema(MatchArgsSchema):
    line = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class MatchBodySchema(Schema):
    """The JSON form of a paste: `{"log": "...", "limit": 5}`."""

    log = fields.String(required=True, validate=validate.Length(min=1))
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=50))
    product = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    version = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class FeedbackBodySchema(Schema):
    """A verdict on a match: the match by its request id, or the paste sent again."""

    issue_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    helpful = fields.Boolean(required=True, truthy={True}, falsy={False})
    request_id = fields.String(load_default=None, validate=validate.Length(min=1, max=128))
    log = fields.String(load_default=None, validate=validate.Length(min=1))
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def one_source(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("request_id") is None) == (data.get("log") is None):
            raise ValidationError(
                "send either request_id (the X-Request-ID of the match) or log (the paste)",
                field_name="request_id",
            )


EXPANDABLE = ("symptoms", "causes", "workarounds")


class IssueArgsSchema(QueryArgsSchema):
    """`expand=causes,workarounds`: linked records inlined in full instead of by id alone."""

    expand = fields.String(load_default="", validate=validate.Length(max=100))

    @validates_schema
    def known_records(self, data: dict[str, Any], **_: Any) -> None:
        unknown = [p for p in _parts(data.get("expand", "")) if p not in EXPANDABLE]
        if unknown:
            raise ValidationError(
                f"cannot expand {', '.join(map(repr, unknown))}: use a comma-separated list "
                f"of {', '.join(EXPANDABLE)}",
                field_name="expand",
            )

    @post_load
    def split(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["expand"] = set(_parts(data.get("expand", "")))
        return data


def _parts(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


class StatsArgsSchema(QueryArgsSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchArgsSchema(QueryArgsSchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=1_000))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
    product = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


# -- responses ------------------------------------------------------------------------------


class ProductOut(Schema):
    product = fields.String()
    version = fields.String()


class StepOut(Schema):
    id = fields.String()
    number = fields.Integer()
    text = fields.String()
    warnings = fields.List(fields.String())
    notes = fields.List(fields.String())


class SymptomOut(Schema):
    id = fields.String()
    article_id = fields.String()
    issue_id = fields.String()
    kind = fields.String()
    text = fields.String()
    log_files = fields.List(fields.String())
    occurrences = fields.Integer()
    links = fields.Dict()


class CauseOut(Schema):
    id = fields.String()
    article_id = fields.String()
    issue_ids = fields.List(fields.String())
    text = fields.String()
    missing_update = fields.String(allow_none=True)
    applies_to_sites = fields.String(allow_none=True)
    links = fields.Dict()


class WorkaroundOut(Schema):
    id = fields.String()
    article_id = fields.String()
    issue_ids = fields.List(fields.String())
    title = fields.String()
    description = fields.String()
    preconditions = fields.List(fields.String())
    warnings = fields.List(fields.String())
    steps = fields.List(fields.Nested(StepOut))
    links = fields.Dict()


class LearnedSymptomOut(Schema):
    id = fields.String()
    issue_id = fields.String()
    text = fields.String()
    feedback_id = fields.Integer(allow_none=True)
    created_at = fields.String()
    links = fields.Dict()


class IssueOut(Schema):
    id = fields.String()
    article_id = fields.String()
    article_title = fields.String()
    number = fields.Integer()
    title = fields.String()
    description = fields.String()
    symptom_ids = fields.List(fields.String())
    cause_ids = fields.List(fields.String())
    workaround_ids = fields.List(fields.String())
    learned_symptoms = fields.List(fields.Nested(LearnedSymptomOut))
    # Present only when asked for with `expand`.
    symptoms = fields.List(fields.Nested(SymptomOut))
    causes = fields.List(fields.Nested(CauseOut))
    workarounds = fields.List(fields.Nested(WorkaroundOut))
    links = fields.Dict()


class SectionOut(Schema):
    key = fields.String()
    heading = fields.String()
    body = fields.String()


class RelatedOut(Schema):
    article_id = fields.String()
    title = fields.String()
    reason = fields.String()
    in_store = fields.Boolean()
    links = fields.Dict()


class ArticleSummaryOut(Schema):
    id = fields.String()
    title = fields.String()
    summary = fields.String()
    source = fields.String()
    modification_type = fields.String(allow_none=True)
    last_reviewed = fields.String(allow_none=True)
    updated_at = fields.String()
    applies_to = fields.List(fields.Nested(ProductOut))
    keywords = fields.List(fields.String())
    issue_ids = fields.List(fields.String())
    links = fields.Dict()


class ArticleOut(ArticleSummaryOut):
    aliases = fields.List(fields.String())
    sections = fields.List(fields.Nested(SectionOut))
    related = fields.List(fields.Nested(RelatedOut))
    referenced_by = fields.List(fields.String())
    issues = fields.List(fields.Nested(IssueOut))
    symptoms = fields.List(fields.Nested(SymptomOut))
    causes = fields.List(fields.Nested(CauseOut))
    workarounds = fields.List(fields.Nested(WorkaroundOut))


class MatchedLineOut(Schema):
    line = fields.Integer()
    text = fields.String()
    symptom_id = fields.String(allow_none=True)
    symptom_text = fields.String()
    match = fields.String()
    similarity = fields.Float()
    learned = fields.Boolean()
    source = fields.String()
    shared_by = fields.Integer()


class ErrorCodeOut(Schema):
    code = fields.String()
    meaning = fields.String(allow_none=True)


class IssueContextOut(Schema):
    """The part of a match that depends only on the issue, not on the paste."""

    causes = fields.List(fields.Nested(CauseOut))
    remediation = fields.List(fields.Nested(WorkaroundOut))
    related_articles = fields.List(fields.Nested(RelatedOut))


class MatchOut(Schema):
    article_id = fields.String()
    issue_id = fields.String()
    title = fields.String()
    article_title = fields.String()
    score = fields.Float()
    confidence = fields.Float()
    matched_lines = fields.List(fields.Nested(MatchedLineOut))
    matched_terms = fields.List(fields.String())
    text_coverage = fields.Float()
    log_files = fields.List(fields.String())
    error_codes = fields.List(fields.Nested(ErrorCodeOut))
    causes = fields.List(fields.Nested(CauseOut))
    remediation = fields.List(fields.Nested(WorkaroundOut))
    related_articles = fields.List(fields.Nested(RelatedOut))
    links = fields.Dict()


class MatchResponseOut(Schema):
    request_id = fields.String()
    lines_read = fields.Integer()
    records_read = fields.Integer()
    format = fields.String()
    log_files = fields.List(fields.String())
    matched_lines = fields.Integer()
    unmatched_lines = fields.Integer()
    truncated_lines = fields.List(fields.Integer())
    matches = fields.List(fields.Nested(MatchOut))
    hint = fields.String()


class SearchHitOut(Schema):
    article_id = fields.String()
    title = fields.String()
    score = fields.Float()
    snippet = fields.String()
    links = fields.Dict()


class SearchResponseOut(Schema):
    query = fields.String()
    total = fields.Integer()
    results = fields.List(fields.Nested(SearchHitOut))


class FeedbackRecordOut(Schema):
    id = fields.Integer()
    created_at = fields.String()
    issue_id = fields.String()
    helpful = fields.Boolean()
    request_id = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    status = fields.String()
    reviewed_at = fields.String(allow_none=True)


class PendingFeedbackOut(FeedbackRecordOut):
    """A verdict waiting for review, with the lines approving it would teach or lower."""

    lines = fields.List(fields.String())
    links = fields.Dict()


class FeedbackOut(Schema):
    feedback = fields.Nested(FeedbackRecordOut)
    learned_symptoms = fields.List(fields.Nested(LearnedSymptomOut))
    penalised_lines = fields.Integer()
    links = fields.Dict()


class PendingArgsSchema(QueryArgsSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0))


class TopIssueOut(Schema):
    issue_id = fields.String()
    article_id = fields.String()
    title = fields.String(allow_none=True)
    count = fields.Integer()
    first_matched = fields.String()
    last_matched = fields.String()
    links = fields.Dict()


class ContentGapOut(Schema):
    line = fields.String()
    count = fields.Integer()
    clients = fields.Integer()
    first_seen = fields.String()
    last_seen = fields.String()


class StatsOut(Schema):
    pastes = fields.Integer()
    pastes_unmatched = fields.Integer()
    top_issues = fields.List(fields.Nested(TopIssueOut))
    feedback = fields.Dict(keys=fields.String(), values=fields.Integer())
    content_gaps = fields.List(fields.Nested(ContentGapOut))

"""Schemas of the HTTP API: query arguments, request bodies and response bodies.

They are the contract's source: `service.openapi` builds the OpenAPI document from them, so a
field's description, example and limits are written here, next to the field, once. Response
schemas are closed (`additionalProperties: false` in the document, from marshmallow's default
`unknown = RAISE`): a field the code starts sending must be added here, or the contract tests
fail. Numbers come from `service.limits`.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from schemas.dumping import OutSchema
from schemas.records import SYMPTOM_KINDS, JsonInteger
from service import limits
from service.error_codes import KINDS as ERROR_CODE_KINDS
from service.matching.rank import CONFIDENT


def doc(description: str, example: Any = None, **extra: Any) -> dict[str, Any]:
    """A field's metadata for the contract: what it means, an example, and any JSON Schema
    keyword the validators cannot state (`pattern` for "not only white space")."""
    metadata: dict[str, Any] = {"description": description, **extra}
    if example is not None:
        metadata["example"] = example
    return metadata


NOT_BLANK = r"\S"
# What every `page_url` is.
PAGE_URL_IS = (
    "HTML, to open or send to someone. Absolute: at `KB_PUBLIC_URL` when the server has one, "
    "else at the address the request reached it by."
)

# -- query arguments ------------------------------------------------------------------------


class QueryArgsSchema(Schema):
    """Query strings may carry extra parameters (cache busters, tracking); they are ignored."""

    class Meta:
        unknown = EXCLUDE


def _product() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=limits.MAX_PRODUCT_CHARS),
        metadata=doc(
            "Only articles (or their records, matches or search results) that apply to this "
            "product: any product whose name holds these words in this order, case, spacing and "
            "punctuation aside (`systems management`), or that they abbreviate: the name's "
            "initials (`SMS`), an acronym it holds in brackets, or a known abbreviation "
            "(`MS-DOS`, `NT`). `/v1/products` lists the products and what each answers to.",
            "SMS",
        ),
    )


def _version() -> fields.String:
    return fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=limits.MAX_VERSION_CHARS),
        metadata=doc(
            "Only articles (or their records or matches) that apply to this version; with "
            "`product`, a version of that product. Read as a release and a service pack, "
            "spelling aside: `2.0 SP2`, `2.0 Service Pack 2` and `2.00 sp2` are one version. A "
            "release alone (`2.0`) stands for it and each of its service packs, a service pack "
            "alone (`SP2`) for that pack of any release. `/v1/products` lists the versions.",
            "2.0 SP1",
        ),
    )


def _match_limit(
    description: str, *, strict: bool = False, states_default: bool = True
) -> fields.Integer:
    """The `limit` of a match; `strict` in a JSON body, where a number is sent as a number
    (a query parameter is always text, so there "3" is 3)."""
    # Where a JSON body can set the limit too, the query parameter states no `default`: a
    # generated client sends a parameter's default with every call, and the query parameter
    # wins over the body, so the body's `limit` would never count. Its description says it.
    extra = {"default": limits.MATCH_LIMIT_DEFAULT} if states_default else {}
    return (JsonInteger if strict else fields.Integer)(
        load_default=None,
        validate=validate.Range(min=1, max=limits.MATCH_LIMIT_MAX),
        metadata=doc(description, **extra),
    )


def _detail(description: str, *, states_default: bool = False) -> fields.String:
    """How much of each match to answer with: `full` or `brief`. Like `limit`, the query
    parameter states no `default` where a JSON body can set it too."""
    extra = {"default": limits.MATCH_DETAIL_DEFAULT} if states_default else {}
    return fields.String(
        load_default=None,
        validate=validate.OneOf(limits.MATCH_DETAILS),
        metadata=doc(description, "brief", **extra),
    )


DETAIL_MEANING = (
    "`full`: every matched line, the causes, every workaround with its numbered steps and "
    "warnings, related articles. `brief`: what a ticket or a chat message needs, each match's "
    f"confidence and why, at most {limits.BRIEF_MATCH_LINES} of its strongest matched lines, "
    "each fix by title with "
    "its steps' first sentences, and `page_url`, the issue's page for the rest."
)


class ListArgsSchema(QueryArgsSchema):
    limit = fields.Integer(
        load_default=limits.PAGE_LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=limits.PAGE_LIMIT_MAX),
        metadata=doc("The most records one page holds."),
    )
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=limits.MAX_CURSOR_CHARS),
        metadata=doc(
            "Where the page starts: the previous page's `next_cursor` (the page holds the "
            "records with greater ids). Following `links.next` does the same.",
            "264630-1",
        ),
    )
    product = _product()
    version = _version()
    keyword = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=limits.MAX_KEYWORD_CHARS),
        metadata=doc(
            "Only articles (or records of articles) tagged with this keyword, ignoring case.",
            "kbfix",
        ),
    )
    article_id = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[0-9]{1,8}$"),
        metadata=doc("Only this article, or its records, by KB number.", "264630"),
    )


class MatchArgsSchema(QueryArgsSchema):
    limit = _match_limit(
        "The most issues to answer with; when absent, the JSON body's `limit`, else "
        f"{limits.MATCH_LIMIT_DEFAULT}.",
        states_default=False,
    )
    product = _product()
    version = _version()
    detail = _detail(
        "How much of each match to answer with; when absent, the JSON body's `detail`, else "
        f"`full`. {DETAIL_MEANING}"
    )


class MatchLineArgsSchema(MatchArgsSchema):
    limit = _match_limit("The most issues to answer with.")
    detail = _detail(
        f"How much of each match to answer with. {DETAIL_MEANING}", states_default=True
    )
    line = fields.String(
        required=True,
        validate=validate.Length(min=1, max=limits.MAX_QUERY_LINE_CHARS),
        metadata=doc(
            "The log line to match, URL-encoded. The whole request line, percent-encoded, "
            f"must fit in {limits.REQUEST_LINE_BYTES} bytes (else a 414): "
            f"{limits.MAX_QUERY_LINE_CHARS} characters of plain ASCII fit, far fewer when "
            "many are spaces, punctuation or non-ASCII (3 to 12 bytes each once encoded). "
            "Send a longer line, or any line whose length you do not control, as the body "
            "of `POST /v1/match`.",
            "Could not register CCIM (could be initial install); AppRegister return code =5",
        ),
    )


class MatchBodySchema(Schema):
    """The JSON form of a paste: `{"log": "...", "limit": 5}`. A field not listed here is a
    422 naming it."""

    log = fields.String(
        required=True,
        validate=validate.Length(min=1),
        metadata=doc(
            "The log as pasted; it must hold more than white space (an empty paste is a 400).",
            pattern=NOT_BLANK,
        ),
    )
    limit = _match_limit(
        f"The most issues to answer with, {limits.MATCH_LIMIT_DEFAULT} when absent; the "
        "`limit` query parameter wins over it.",
        strict=True,
    )
    product = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=limits.MAX_PRODUCT_CHARS),
        metadata=doc("Like the `product` query parameter, which wins over it."),
    )
    version = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=limits.MAX_VERSION_CHARS),
        metadata=doc("Like the `version` query parameter, which wins over it."),
    )
    detail = _detail(
        "How much of each match to answer with, `full` when absent; the `detail` query "
        f"parameter wins over it. {DETAIL_MEANING}"
    )


class FeedbackBodySchema(Schema):
    """A verdict on a match: the match by its request id, or the paste sent again. Exactly one
    of `request_id` and `log` is sent, as a string (null is not absent: it is a 422); a field
    not listed here is a 422 naming it."""

    issue_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=limits.MAX_ISSUE_ID_CHARS),
        metadata=doc("The issue the verdict is about.", "264630-1"),
    )
    helpful = fields.Boolean(
        required=True,
        truthy={True},
        falsy={False},
        metadata=doc("Whether the issue was the answer to the paste."),
    )
    # Absent, not null: a field sent as null is a 422, as the contract's types say.
    request_id = fields.String(
        load_default=None,
        allow_none=False,
        validate=validate.Length(min=1, max=limits.MAX_REQUEST_ID_CHARS),
        metadata=doc(
            "The match's `request_id` (the `X-Request-ID` header of its answer).",
            "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
        ),
    )
    log = fields.String(
        load_default=None,
        allow_none=False,
        validate=validate.Length(min=1),
        metadata=doc("The paste sent again, for a match whose request id is not at hand."),
    )
    comment = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=limits.MAX_COMMENT_CHARS),
        metadata=doc("Free text for the reviewer.", "Editing Copylog.tcf fixed the clients."),
    )

    @validates_schema
    def one_source(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("request_id") is None) == (data.get("log") is None):
            raise ValidationError(
                "send either request_id (the X-Request-ID of the match) or log (the paste)",
                field_name="request_id",
            )


EXPANDABLE = ("symptoms", "causes", "workarounds")
_EXPANDABLE_NAME = f"({'|'.join(EXPANDABLE)})"
EXPAND_PATTERN = f"^({_EXPANDABLE_NAME}(,{_EXPANDABLE_NAME})*)?$"


def _expand_list(value: str) -> None:
    """`expand` as the contract's pattern has it: names, commas between, nothing else."""
    if re.fullmatch(EXPAND_PATTERN, value):
        return
    unknown = [p for p in value.split(",") if p not in EXPANDABLE]
    named = [p for p in unknown if p]
    if named:
        raise ValidationError(
            f"cannot expand {', '.join(map(repr, named))}: use a comma-separated list of "
            f"{', '.join(EXPANDABLE)}"
        )
    raise ValidationError(
        f"use a comma-separated list of {', '.join(EXPANDABLE)}, with no empty name or space"
    )


class IssueArgsSchema(QueryArgsSchema):
    """`expand=causes,workarounds`: linked records inlined in full instead of by id alone."""

    expand = fields.String(
        load_default="",
        validate=[validate.Length(max=limits.MAX_EXPAND_CHARS), _expand_list],
        metadata=doc(
            f"Linked records to inline in full, comma-separated: any of {', '.join(EXPANDABLE)}. "
            "Anything else (another name, an empty one, a space) is a 400 naming `expand`.",
            "causes,workarounds",
            pattern=EXPAND_PATTERN,
        ),
    )

    @post_load
    def split(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["expand"] = set(_parts(data.get("expand", "")))
        return data


def _parts(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


class StatsArgsSchema(QueryArgsSchema):
    limit = fields.Integer(
        load_default=limits.STATS_LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=limits.STATS_LIMIT_MAX),
        metadata=doc("The most entries each list holds."),
    )


class SearchArgsSchema(QueryArgsSchema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=limits.MAX_QUERY_CHARS),
        metadata=doc(
            "The problem, in words. Percent-encoded, the whole request line must fit in "
            f"{limits.REQUEST_LINE_BYTES} bytes, else the server refuses it with a 414: the "
            f"{limits.MAX_QUERY_CHARS} characters allowed fit when they are ASCII letters, "
            "not when they are in a script outside ASCII (9 bytes each once encoded for CJK, "
            "so about 900 of those fit; 12 for characters outside the Basic Multilingual "
            "Plane). Describe the problem in fewer words then.",
            "clicore copylog",
        ),
    )
    limit = fields.Integer(
        load_default=limits.SEARCH_LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=limits.SEARCH_LIMIT_MAX),
        metadata=doc("The most articles to answer with."),
    )
    product = _product()


class PendingArgsSchema(QueryArgsSchema):
    limit = fields.Integer(
        load_default=limits.PAGE_LIMIT_DEFAULT,
        validate=validate.Range(min=1, max=limits.PAGE_LIMIT_MAX),
        metadata=doc("The most verdicts one page holds."),
    )
    cursor = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=limits.MAX_RECORD_NUMBER),
        metadata=doc("The previous page's `next_cursor`."),
    )


# -- fields of responses --------------------------------------------------------------------


class DocumentedAs:
    """A field dumped as it is, described in the contract by another field.

    Marks the values the code assembles or dumps elsewhere: `service.openapi` documents the
    field by `documented_as`, so the contract still says exactly what they hold.
    """

    documented_as: fields.Field


class AsBuilt(DocumentedAs, fields.Dict):
    """A mapping dumped as the code built it (`links` by `service.links`, counts by a query),
    described in the contract by `schema`. A key the code adds without adding it to the
    schema fails the contract tests, rather than vanishing from the answer."""

    def __init__(self, schema: type[Schema], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.documented_as = fields.Nested(schema, metadata=self.metadata)


def _paths(description: str) -> fields.List:
    return fields.List(fields.String(), metadata=doc(description))


def _path(description: str, example: str | None = None, **kwargs: Any) -> fields.String:
    return fields.String(metadata=doc(description, example), **kwargs)


# -- links ----------------------------------------------------------------------------------


class ArticleLinksOut(OutSchema):
    self = _path("The article.", "/v1/articles/264630", required=True)
    issues = fields.List(fields.String(), required=True, metadata=doc("Its issues."))
    related = _paths("The related articles in the knowledge base (whole article only).")
    referenced_by = _paths("The articles that name this one as related (whole article only).")


class IssueLinksOut(OutSchema):
    self = _path("The issue.", "/v1/issues/264630-1", required=True)
    article = _path("Its article.", required=True)
    symptoms = fields.List(fields.String(), required=True, metadata=doc("Its symptoms."))
    causes = fields.List(fields.String(), required=True, metadata=doc("Its causes."))
    workarounds = fields.List(fields.String(), required=True, metadata=doc("Its workarounds."))


class SymptomLinksOut(OutSchema):
    self = _path("The symptom.", "/v1/symptoms/264630-1-s05", required=True)
    issue = _path("Its issue.", required=True)
    article = _path("Its article.", required=True)


class CauseLinksOut(OutSchema):
    self = _path("The cause.", "/v1/causes/264630-c1", required=True)
    article = _path("Its article.", required=True)
    issues = fields.List(fields.String(), required=True, metadata=doc("Its issues."))
    missing_update = _path("The missing update's article, when the knowledge base has it.")


class WorkaroundLinksOut(OutSchema):
    self = _path("The workaround.", "/v1/workarounds/264630-w2", required=True)
    article = _path("Its article.", required=True)
    issues = fields.List(fields.String(), required=True, metadata=doc("Its issues."))


class LearnedLinksOut(OutSchema):
    self = _path("The learned symptom; DELETE it to forget it.", required=True)
    issue = _path("Its issue.", required=True)


class RelatedLinksOut(OutSchema):
    article = _path("The related article, only when the knowledge base has it.")


class MatchLinksOut(OutSchema):
    issue = _path("The issue.", "/v1/issues/264630-1", required=True)
    article = _path("Its article.", "/v1/articles/264630", required=True)


class ArticleLinkOut(OutSchema):
    article = _path("The article.", "/v1/articles/264630", required=True)


class IssueLinkOut(OutSchema):
    issue = _path("The issue.", "/v1/issues/264630-1", required=True)


class TopIssueLinksOut(OutSchema):
    issue = _path("The issue, while the store still has it (else no links).")


class ReviewLinksOut(OutSchema):
    approve = _path("POST here to apply the verdict.", required=True)
    reject = _path("POST here to close it unapplied.", required=True)
    issue = _path("The issue it is about.", required=True)


class PageLinksOut(OutSchema):
    self = _path("This page, path and query.", required=True)
    next = _path("The next page; absent on the last one.")


# -- records --------------------------------------------------------------------------------


class ProductOut(OutSchema):
    product = _path("The product's name.", "Microsoft Systems Management Server", required=True)
    version = _path("Its version; empty when the article names none.", "2.0 SP1", required=True)


class StepOut(OutSchema):
    id = _path("The step's id.", "264630-w2-1", required=True)
    number = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata=doc("Its place: steps run 1, 2, 3... in order."),
    )
    text = _path("What to do.", required=True)
    warnings = fields.List(fields.String(), required=True, metadata=doc("Cautions for it."))
    notes = fields.List(fields.String(), required=True, metadata=doc("Remarks on it."))


class SymptomOut(OutSchema):
    """A log line, error message or condition that an article quotes for one of its issues."""

    id = _path("The symptom's id.", "264630-1-s05", required=True)
    article_id = _path("Its article's KB number.", "264630", required=True)
    issue_id = _path("Its issue.", "264630-1", required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(SYMPTOM_KINDS), metadata=doc("What it quotes.")
    )
    text = _path("Word for word as the article quotes it.", required=True)
    log_files = fields.List(
        fields.String(), required=True, metadata=doc("Log files the line is written to.")
    )
    occurrences = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata=doc("How many times the article quotes it."),
    )
    links = AsBuilt(SymptomLinksOut, required=True)


class CauseOut(OutSchema):
    """Why one or more issues happen."""

    id = _path("The cause's id.", "264630-c1", required=True)
    article_id = _path("Its article's KB number.", "264630", required=True)
    issue_ids = fields.List(fields.String(), required=True, metadata=doc("The issues it causes."))
    text = _path("The cause, as the article states it.", required=True)
    missing_update = fields.String(
        allow_none=True,
        required=True,
        metadata=doc("The KB number of an update whose absence is the cause.", "251070"),
    )
    applies_to_sites = fields.String(
        allow_none=True, required=True, metadata=doc("The sites the cause concerns.")
    )
    links = AsBuilt(CauseLinksOut, required=True)


class WorkaroundOut(OutSchema):
    """A way to resolve or avoid one or more issues, with its ordered steps (maybe none)."""

    id = _path("The workaround's id.", "264630-w2", required=True)
    article_id = _path("Its article's KB number.", "264630", required=True)
    issue_ids = fields.List(fields.String(), required=True, metadata=doc("The issues it fixes."))
    title = _path("What it does.", required=True)
    description = _path("More about it (may be empty).", required=True)
    preconditions = fields.List(fields.String(), required=True, metadata=doc("When it applies."))
    warnings = fields.List(
        fields.String(), required=True, metadata=doc("Cautions for the whole workaround.")
    )
    steps = fields.List(fields.Nested(StepOut), required=True)
    links = AsBuilt(WorkaroundLinksOut, required=True)


class LearnedSymptomOut(OutSchema):
    """A normalised line that approved feedback taught an issue. Matched like an article's
    symptoms, but listed apart from them and never part of the article."""

    id = _path("The learned symptom's id.", "264630-1-l01", required=True)
    issue_id = _path("The issue it was taught.", "264630-1", required=True)
    text = _path(
        "The line, normalised.",
        "clicore.exe copy from <path> failed with 0x80070005",
        required=True,
    )
    feedback_id = fields.Integer(
        allow_none=True, required=True, metadata=doc("The verdict that taught it.")
    )
    created_at = _path("When it was learned.", required=True)
    links = AsBuilt(LearnedLinksOut, required=True)


class IssueOut(OutSchema):
    """One problem an article describes (its "Issue N"; one issue when it numbers none)."""

    id = _path("The issue's id: the KB number and the issue number.", "264630-1", required=True)
    article_id = _path("Its article's KB number.", "264630", required=True)
    article_title = _path("Its article's title.", required=True)
    number = fields.Integer(
        required=True, validate=validate.Range(min=1), metadata=doc("Its number in the article.")
    )
    title = _path("What goes wrong.", required=True)
    description = _path("More about it (may be empty).", required=True)
    page_url = _path(
        "The issue's page for people: " + PAGE_URL_IS,
        "http://127.0.0.1:8000/issues/264630-1",
        required=True,
    )
    symptom_ids = fields.List(fields.String(), required=True, metadata=doc("Its symptoms."))
    cause_ids = fields.List(fields.String(), required=True, metadata=doc("Its causes."))
    workaround_ids = fields.List(fields.String(), required=True, metadata=doc("Its workarounds."))
    learned_symptoms = fields.List(
        fields.Nested(LearnedSymptomOut),
        metadata=doc(
            "Lines approved feedback taught the issue; on a single issue only, not in lists "
            "or articles."
        ),
    )
    # Present only when asked for with `expand`.
    symptoms = fields.List(
        fields.Nested(SymptomOut), metadata=doc("Its symptoms in full; with `expand=symptoms`.")
    )
    causes = fields.List(
        fields.Nested(CauseOut), metadata=doc("Its causes in full; with `expand=causes`.")
    )
    workarounds = fields.List(
        fields.Nested(WorkaroundOut),
        metadata=doc("Its workarounds in full, steps included; with `expand=workarounds`."),
    )
    links = AsBuilt(IssueLinksOut, required=True)


class SectionOut(OutSchema):
    """A part of the article's prose, in article order."""

    key = _path("What the part is.", "cause", required=True)
    heading = _path("Its heading, as the article writes it.", "CAUSE", required=True)
    body = _path("Its text.", required=True)


class RelatedOut(OutSchema):
    """Another KB article this one refers to."""

    article_id = _path("Its KB number.", "251070", required=True)
    title = _path("Its title as cited (may be empty).", required=True)
    reason = _path("Why it is related (may be empty).", required=True)
    in_store = fields.Boolean(
        required=True, metadata=doc("Whether this knowledge base has it, to fetch.")
    )
    links = AsBuilt(RelatedLinksOut, required=True)


class ArticleSummaryOut(OutSchema):
    """An article's own fields, without the records extracted from it (as lists show it)."""

    id = fields.String(
        required=True, metadata=doc("The KB number.", "264630", pattern=r"^[0-9]{1,8}$")
    )
    title = _path("The title.", required=True)
    summary = _path("The lead paragraph (may be empty).", required=True)
    page_url = _path(
        "The article's page for people: " + PAGE_URL_IS,
        "http://127.0.0.1:8000/articles/264630",
        required=True,
    )
    source = fields.String(
        required=True,
        validate=validate.OneOf(("curated", "imported", "api")),
        metadata=doc("How the article came in: `kb_data`, `kb import`, or the API."),
    )
    modification_type = fields.String(
        allow_none=True, required=True, metadata=doc("The article's revision kind.", "Minor")
    )
    last_reviewed = fields.String(
        allow_none=True,
        required=True,
        metadata=doc("When the article was last reviewed.", "2006-04-26", format="date"),
    )
    updated_at = fields.String(
        required=True,
        metadata=doc("When the store last wrote the article.", format="date-time"),
    )
    applies_to = fields.List(fields.Nested(ProductOut), required=True)
    keywords = fields.List(fields.String(), required=True, metadata=doc("Its tags."))
    issue_ids = fields.List(fields.String(), required=True, metadata=doc("Its issues."))
    links = AsBuilt(ArticleLinksOut, required=True)


class ArticleOut(ArticleSummaryOut):
    """A whole article, with every record extracted from it."""

    aliases = fields.List(
        fields.String(), required=True, metadata=doc("Other names that fetch the article.")
    )
    sections = fields.List(fields.Nested(SectionOut), required=True)
    related = fields.List(fields.Nested(RelatedOut), required=True)
    referenced_by = fields.List(
        fields.String(),
        required=True,
        metadata=doc("KB numbers of the articles that name this one as related."),
    )
    issues = fields.List(fields.Nested(IssueOut), required=True)
    symptoms = fields.List(fields.Nested(SymptomOut), required=True)
    causes = fields.List(fields.Nested(CauseOut), required=True)
    workarounds = fields.List(fields.Nested(WorkaroundOut), required=True)


# -- matches --------------------------------------------------------------------------------

MATCH_KINDS = ("exact", "normalised", "partial", "contained", "typo")
EVIDENCE_SOURCES = ("symptom", "learned", "article_text")


class MatchedLineOut(OutSchema):
    """A pasted line that matched, and what it matched."""

    line = fields.Integer(
        required=True, validate=validate.Range(min=1), metadata=doc("Its number in the paste.")
    )
    text = _path("The message read from the line.", required=True)
    symptom_id = fields.String(
        allow_none=True,
        required=True,
        metadata=doc(
            "The symptom it matched; null when it matched other text of the article "
            "(`source: article_text`)."
        ),
    )
    symptom_text = _path("What it matched, as the article says it.", required=True)
    match = fields.String(
        required=True,
        validate=validate.OneOf(MATCH_KINDS),
        metadata=doc(
            "How: `exact`, the same text; `normalised`, the same once variable parts (paths, "
            "numbers, codes, dates, an article's placeholders such as `<server name>`) are "
            "normalised; `partial`, most of what the symptom says is there; `contained`, the "
            "article's line is quoted inside the pasted one; `typo`, the same once one "
            "misspelt word is corrected."
        ),
    )
    similarity = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=1),
        metadata=doc("How alike the two are, 0 to 1."),
    )
    learned = fields.Boolean(
        required=True, metadata=doc("Whether the symptom was learned from feedback.")
    )
    source = fields.String(
        required=True,
        validate=validate.OneOf(EVIDENCE_SOURCES),
        metadata=doc(
            "What the line matched: a symptom of the issue, a symptom learned from feedback, "
            "or another line of the article's text."
        ),
    )
    shared_by = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata=doc(
            "How many issues (symptoms) or articles (article text) say the same line; above 1, "
            "the line alone does not tell them apart and the rest of the paste decides."
        ),
    )


class ErrorCodeOut(OutSchema):
    code = fields.String(
        required=True,
        metadata=doc("An error code as a matched line writes it.", "5"),
    )
    kind = fields.String(
        required=True,
        validate=validate.OneOf(ERROR_CODE_KINDS),
        metadata=doc(
            "What numbers it: `win32` (a Win32 or Windows Sockets error), `net` (a LAN Manager "
            "network error, 2100-2999), `ntstatus`, `hresult`, `bugcheck` (a blue screen's stop "
            "code) or `sms` (an SMS 2.0 client status message ID).",
            "win32",
        ),
    )
    name = fields.String(
        allow_none=True,
        required=True,
        metadata=doc(
            "The name Windows gives it (an SMS status message's title), or null when the code "
            "is not a well-known one.",
            "ERROR_ACCESS_DENIED",
        ),
    )
    meaning = fields.String(
        allow_none=True,
        required=True,
        metadata=doc(
            "What it means, in a sentence, or null when the code is not a well-known one.",
            "Access is denied: the account lacks the permission or right for the operation.",
        ),
    )


class IssueContextOut(OutSchema):
    """The part of a match that depends only on the issue, not on the paste."""

    causes = fields.List(fields.Nested(CauseOut), metadata=doc("The issue's causes."))
    remediation = fields.List(
        fields.Nested(WorkaroundOut), metadata=doc("The issue's workarounds, with their steps.")
    )
    related_articles = fields.List(
        fields.Nested(RelatedOut), metadata=doc("Articles the issue's article names.")
    )


class BriefFixOut(OutSchema):
    """A workaround as a brief answer names it: what to do, and its steps in a line each."""

    title = _path(
        "The workaround's title (or its first sentence, where the article gives it none).",
        "Remotely edit Copylog.tcf on the PDC to point Clicore.exe at the SP2 site",
        required=True,
    )
    steps = fields.List(
        fields.String(),
        required=True,
        metadata=doc(
            "Each numbered step's first sentence, at most "
            f"{limits.STEP_TITLE_CHARS} characters, in order; the issue's page has them whole.",
            ["Upgrade all sites to SP2."],
        ),
    )


CERTAINTIES = ("sure", "not sure")
ONLY_FULL = " Only in full answers (`detail=full`)."


class MatchOut(OutSchema):
    """A known issue the paste shows: how sure and why, the evidence, and (in full answers) its
    causes and remediation, or (in brief answers) its fixes by title."""

    article_id = _path("The article's KB number.", "264630", required=True)
    issue_id = _path("The issue.", "264630-1", required=True)
    title = _path("The issue's title.", required=True)
    article_title = _path("The article's title." + ONLY_FULL)
    score = fields.Float(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("The summed weight of the evidence; matches are ordered by it."),
    )
    confidence = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=1),
        metadata=doc(
            "How sure the match is, from the score (1 - e^-score), lowered for lines other "
            "issues or articles say too."
        ),
    )
    certainty = fields.String(
        required=True,
        validate=validate.OneOf(CERTAINTIES),
        metadata=doc(
            f"`sure` from a confidence of {CONFIDENT} on, else `not sure`: say which to people.",
            "sure",
        ),
    )
    confidence_reason = _path(
        "One line saying what made the confidence what it is: how many lines matched and how, "
        "whether they are specific or short and common, how many issues or articles say them "
        "too, and what else counted.",
        "2 lines matched (2 exact), said by this issue alone",
        required=True,
    )
    page_url = _path(
        "The issue's page for people, with its description, causes and every step: " + PAGE_URL_IS,
        "http://127.0.0.1:8000/issues/264630-1",
        required=True,
    )
    matched_lines = fields.List(
        fields.Nested(MatchedLineOut),
        required=True,
        metadata=doc(
            "The pasted lines that matched the issue, in paste order; in brief answers at most "
            f"{limits.BRIEF_MATCH_LINES}, the strongest."
        ),
    )
    matched_terms = fields.List(
        fields.String(),
        metadata=doc(
            "Words of the paste's prose found in the issue's description, rarest first, as the "
            "paste writes them." + ONLY_FULL
        ),
    )
    text_coverage = fields.Float(
        validate=validate.Range(min=0, max=1),
        metadata=doc(
            "How much of the prose's information the issue's description covers." + ONLY_FULL
        ),
    )
    log_files = fields.List(
        fields.String(),
        metadata=doc(
            "Log files of the paste that the issue's symptoms are written to." + ONLY_FULL
        ),
    )
    error_codes = fields.List(
        fields.Nested(ErrorCodeOut),
        required=True,
        metadata=doc(
            "The error codes the matched lines report, each once, decoded; in brief answers, "
            "those of the lines shown."
        ),
    )
    causes = fields.List(fields.Nested(CauseOut), metadata=doc("The issue's causes." + ONLY_FULL))
    remediation = fields.List(
        fields.Nested(WorkaroundOut),
        metadata=doc("The issue's workarounds, with their steps." + ONLY_FULL),
    )
    related_articles = fields.List(
        fields.Nested(RelatedOut),
        metadata=doc("Articles the issue's article names." + ONLY_FULL),
    )
    fixes = fields.List(
        fields.Nested(BriefFixOut),
        metadata=doc(
            "The issue's workarounds in the order to try them, by title with their steps' "
            "first sentences. Only in brief answers (`detail=brief`)."
        ),
    )
    links = AsBuilt(MatchLinksOut, required=True)


FILTER_NAMES = ("product", "version")


class FiltersOut(OutSchema):
    """What the `product` and `version` filters of a request were taken to mean, and what
    they left out."""

    product = _path("The `product` filter as sent.", "SMS")
    products = fields.List(
        fields.String(),
        metadata=doc(
            "The known products the `product` filter stands for; empty when it names none.",
            ["Microsoft Systems Management Server"],
        ),
    )
    closest_products = fields.List(
        fields.String(),
        metadata=doc(
            "When the `product` filter names no known product: the known products most like "
            "it, most alike first.",
            ["Microsoft Exchange"],
        ),
    )
    version = _path("The `version` filter as sent.", "2.0 sp2")
    versions = fields.List(
        fields.String(),
        metadata=doc(
            "The versions the articles (of those products) name that the `version` filter "
            "stands for, as the articles write them; empty when none.",
            ["2.0 SP2"],
        ),
    )
    closest_versions = fields.List(
        fields.String(),
        metadata=doc(
            "When the `version` filter names no version the articles name: the known versions "
            "most like it.",
            ["2.0 SP1", "2.0 SP2"],
        ),
    )
    hidden_matches = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc(
            "How many matches the filters left out: issues the paste matches (for `/v1/match`) "
            "or articles among the first `limit` found without the filter (for `/v1/search`), "
            "of other products or versions.",
            2,
        ),
    )
    hidden_by = fields.List(
        fields.String(validate=validate.OneOf(FILTER_NAMES)),
        required=True,
        metadata=doc(
            "The filters that left them out: `product` for matches of articles about other "
            "products, `version` for those about other versions (of the product asked for).",
            ["version"],
        ),
    )
    note = _path(
        "The same for people, in one sentence or two; empty when the filters matched known "
        "names and left nothing out.",
        "The filter version=3.0 left out 2 issues that match; leave out version to see them.",
        required=True,
    )


class MatchResponseOut(OutSchema):
    """The answer to a paste: what was read, and the known issues it shows, best first."""

    request_id = _path(
        "This answer's id, also sent as `X-Request-ID`: `/v1/feedback` names the match by it.",
        "6f1c2a9e0b7d4c3f8e5a1b2c3d4e5f60",
        required=True,
    )
    detail = fields.String(
        required=True,
        validate=validate.OneOf(limits.MATCH_DETAILS),
        metadata=doc("How much of each match the answer gives, as asked (`detail`).", "full"),
    )
    lines_read = fields.Integer(
        required=True, validate=validate.Range(min=0), metadata=doc("Lines in the paste.")
    )
    records_read = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("Log records read: multi-line records joined, log-file headers left out."),
    )
    format = _path(
        "The log format read: `sms1`, `sms2`, `configmgr`, `cmtrace`, `timestamped`, `plain` "
        "or `empty`; more may come.",
        "sms2",
        required=True,
    )
    log_files = fields.List(
        fields.String(),
        required=True,
        metadata=doc("Log file names seen in the paste, as headers or inside lines."),
    )
    matched_lines = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("Records that matched a symptom or more."),
    )
    unmatched_lines = fields.Integer(
        required=True, validate=validate.Range(min=0), metadata=doc("Records that matched none.")
    )
    truncated_lines = fields.List(
        fields.Integer(validate=validate.Range(min=1)),
        required=True,
        metadata=doc(
            f"Numbers of the lines cut to the longest line read (`KB_MAX_LINE_CHARS`, "
            f"{limits.MAX_LINE_CHARS} by default) before matching."
        ),
    )
    matches = fields.List(
        fields.Nested(MatchOut), required=True, metadata=doc("The issues, best first.")
    )
    hint = _path("What to try next; only when `matches` is empty.")
    filters = fields.Nested(
        FiltersOut,
        metadata=doc(
            "What the `product` and `version` filters were taken to mean and what they left "
            "out; only when one is given."
        ),
    )


# -- search ---------------------------------------------------------------------------------


class SearchHitOut(OutSchema):
    article_id = _path("The article's KB number.", "264630", required=True)
    title = _path("Its title.", required=True)
    score = fields.Float(
        required=True,
        metadata=doc(
            "Its BM25 score (4 significant digits); hits are ordered by it. Relative to the "
            "other hits only: in a knowledge base of few articles, words most of them hold "
            "weigh almost nothing and scores are tiny."
        ),
    )
    snippet = _path("Passages with the words found wrapped in `**`.", required=True)
    links = AsBuilt(ArticleLinkOut, required=True)


class IssueHitLinksOut(OutSchema):
    issue = _path("The issue.", "/v1/issues/264630-2", required=True)
    article = _path("Its article.", "/v1/articles/264630", required=True)


class IssueHitOut(OutSchema):
    """An issue of an article found, scored by how much of the query its text says."""

    issue_id = _path("The issue.", "264630-2", required=True)
    article_id = _path("Its article's KB number.", "264630", required=True)
    title = _path("The issue's title.", required=True)
    score = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=1),
        metadata=doc(
            "How much of the query the issue's text (title, description, conditions) says, 0 "
            "to 1: the query's words it has, each weighed by how rare it is among the issues, "
            "over all of the query's words. Issues are ordered by it.",
            0.62,
        ),
    )
    matched_words = fields.List(
        fields.String(),
        required=True,
        metadata=doc("The query's words the issue's text has, as the query writes them."),
    )
    page_url = _path(
        "The issue's page for people: " + PAGE_URL_IS,
        "http://127.0.0.1:8000/issues/264630-2",
        required=True,
    )
    links = AsBuilt(IssueHitLinksOut, required=True)


class SearchResponseOut(OutSchema):
    query = _path("`q` as received.", "clicore copylog", required=True)
    total = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("How many articles match; may be more than `results` holds."),
    )
    results = fields.List(fields.Nested(SearchHitOut), required=True)
    issues = fields.List(
        fields.Nested(IssueHitOut),
        required=True,
        metadata=doc(
            "The issues of the articles in `results` that have any of the query's words, "
            "best first, at most `limit`."
        ),
    )
    filters = fields.Nested(
        FiltersOut,
        metadata=doc(
            "What the `product` filter was taken to mean and how many articles it left out; "
            "only when it is given."
        ),
    )


# -- filters and products -------------------------------------------------------------------


class ProductsArgsSchema(QueryArgsSchema):
    product = _product()


class ProductVersionOut(OutSchema):
    version = _path("A version, as the articles most often write it.", "2.0 SP1", required=True)
    articles = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata=doc("How many articles apply to it.", 381),
    )


class ProductSummaryOut(OutSchema):
    product = _path("The product's name.", "Microsoft Systems Management Server", required=True)
    articles = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata=doc("How many articles apply to it.", 2820),
    )
    aliases = fields.List(
        fields.String(),
        required=True,
        metadata=doc(
            "The short names the `product` filter also knows it by: its initials, an acronym "
            "in its name, known abbreviations.",
            ["SMS"],
        ),
    )
    versions = fields.List(
        fields.Nested(ProductVersionOut),
        required=True,
        metadata=doc(
            "The versions its articles name, oldest first; spellings of one version counted "
            "together (`2.0 Service Pack 2` with `2.0 SP2`), and a string naming several "
            "versions (`3.5 3.51 4.0`) counted under each."
        ),
    )


class ProductsOut(OutSchema):
    """The products the articles apply to, with their versions and article counts."""

    total = fields.Integer(
        required=True, validate=validate.Range(min=0), metadata=doc("How many products.")
    )
    products = fields.List(
        fields.Nested(ProductSummaryOut),
        required=True,
        metadata=doc("The products, by name; with `product`, those it stands for."),
    )
    closest_products = fields.List(
        fields.String(),
        metadata=doc(
            "When `product` names no known product: the known products most like it.",
            ["Microsoft Exchange"],
        ),
    )


# -- feedback and stats ---------------------------------------------------------------------

FEEDBACK_STATUSES = ("pending", "approved", "rejected")


class FeedbackRecordOut(OutSchema):
    """A verdict as recorded."""

    id = fields.Integer(required=True, metadata=doc("The verdict's id.", 12))
    created_at = _path("When it was sent.", required=True)
    issue_id = _path("The issue it is about.", "264630-1", required=True)
    helpful = fields.Boolean(required=True, metadata=doc("Whether the issue was the answer."))
    request_id = fields.String(
        allow_none=True, required=True, metadata=doc("The match it names, when named by id.")
    )
    comment = fields.String(allow_none=True, required=True, metadata=doc("The sender's comment."))
    status = fields.String(
        required=True,
        validate=validate.OneOf(FEEDBACK_STATUSES),
        metadata=doc(
            "`pending` until reviewed; `approved` once applied (by a token holder, or by a "
            "quorum of distinct clients for every line); `rejected` when closed unapplied."
        ),
    )
    reviewed_at = fields.String(
        allow_none=True, required=True, metadata=doc("When it was approved or rejected.")
    )


class PendingFeedbackOut(FeedbackRecordOut):
    """A verdict waiting for review, with the lines approving it would teach or lower."""

    lines = fields.List(
        fields.String(),
        required=True,
        metadata=doc(
            "Normalised lines that approving would teach the issue (a confirmation) or count "
            'against it (a "not helpful" verdict).'
        ),
    )
    links = AsBuilt(ReviewLinksOut, required=True)


class FeedbackOut(OutSchema):
    """A verdict and what it changed."""

    feedback = fields.Nested(FeedbackRecordOut, required=True)
    learned_symptoms = fields.List(
        fields.Nested(LearnedSymptomOut),
        required=True,
        metadata=doc("Lines the verdict taught the issue (none unless applied)."),
    )
    penalised_lines = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("Lines whose match to the issue the verdict now counts against."),
    )
    links = AsBuilt(IssueLinkOut, required=True)


class TopIssueOut(OutSchema):
    issue_id = _path("The issue.", "264630-1", required=True)
    article_id = _path("Its article's KB number.", "264630", required=True)
    title = fields.String(
        allow_none=True,
        required=True,
        metadata=doc("Its title; null when the store no longer has the issue."),
    )
    count = fields.Integer(
        required=True,
        validate=validate.Range(min=1),
        metadata=doc("Answers that ranked it first with confidence."),
    )
    first_matched = _path("When it was first so matched.", required=True)
    last_matched = _path("When it was last so matched.", required=True)
    links = AsBuilt(TopIssueLinksOut, required=True)


class ContentGapOut(OutSchema):
    line = _path(
        "A normalised line that matched nothing.",
        "wuauclt detection cycle aborted with 0x8024402c",
        required=True,
    )
    count = fields.Integer(
        required=True, validate=validate.Range(min=1), metadata=doc("Pastes that held it.")
    )
    clients = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("Distinct clients that pasted it (counted, never named)."),
    )
    first_seen = _path("When it was first pasted.", required=True)
    last_seen = _path("When it was last pasted.", required=True)


class FeedbackCountsOut(OutSchema):
    total = fields.Integer(required=True, validate=validate.Range(min=0))
    helpful = fields.Integer(required=True, validate=validate.Range(min=0))
    not_helpful = fields.Integer(required=True, validate=validate.Range(min=0))
    pending = fields.Integer(
        required=True, validate=validate.Range(min=0), metadata=doc("Verdicts waiting for review.")
    )
    learned_symptoms = fields.Integer(required=True, validate=validate.Range(min=0))


class StatsOut(OutSchema):
    """What a KB author works from: answered pastes, the issues matched most, feedback."""

    pastes = fields.Integer(
        required=True, validate=validate.Range(min=0), metadata=doc("Pastes answered.")
    )
    pastes_unmatched = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata=doc("Pastes whose answer had no match with confidence 0.5 or more."),
    )
    top_issues = fields.List(
        fields.Nested(TopIssueOut),
        required=True,
        metadata=doc("The issues most often matched first with confidence 0.5 or more."),
    )
    feedback = AsBuilt(FeedbackCountsOut, required=True, metadata=doc("Verdicts, counted."))
    content_gaps = fields.List(
        fields.Nested(ContentGapOut),
        metadata=doc(
            "Only for requests carrying a token: the lines of pastes that matched nothing, "
            f"each pasted by at least `KB_GAP_MIN_CLIENTS` distinct clients "
            f"({limits.GAP_MIN_CLIENTS} by default)."
        ),
    )


# -- pages ----------------------------------------------------------------------------------


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of a list (`service.views.common.page_response` builds it)."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                allow_none=True,
                required=True,
                metadata=doc("The `cursor` of the next page; null on the last page."),
            ),
            "links": fields.Nested(PageLinksOut, required=True),
        },
        name=name,
    )


ArticlePageOut = page_of(ArticleSummaryOut, "ArticlePageOut")
IssuePageOut = page_of(IssueOut, "IssuePageOut")
SymptomPageOut = page_of(SymptomOut, "SymptomPageOut")
CausePageOut = page_of(CauseOut, "CausePageOut")
WorkaroundPageOut = page_of(WorkaroundOut, "WorkaroundPageOut")
PendingFeedbackPageOut = page_of(PendingFeedbackOut, "PendingFeedbackPageOut")


# -- health, errors and the contract itself -------------------------------------------------


class HealthOut(OutSchema):
    status = fields.String(
        required=True, validate=validate.OneOf(("ok",)), metadata=doc("Always `ok`.")
    )


class ReadyCheckOut(OutSchema):
    """One readiness check. A failed check says which way in `error` (the server log says
    why)."""

    ok = fields.Boolean(required=True, metadata=doc("Whether the check passed."))
    articles = fields.Integer(
        validate=validate.Range(min=0),
        metadata=doc("Articles in the store (store check) or in the index (index check)."),
    )
    revision = fields.Integer(
        validate=validate.Range(min=-1),
        metadata=doc(
            "Writes the store has counted (store check), or the count up to which the index "
            "holds every write (index check; -1 when it records none)."
        ),
    )
    documents = fields.Integer(
        validate=validate.Range(min=0), metadata=doc("Documents in the index (index check).")
    )
    behind = fields.Integer(
        validate=validate.Range(min=0),
        metadata=doc("Store writes the index does not hold yet (index check)."),
    )
    stalled_seconds = fields.Float(
        validate=validate.Range(min=0),
        metadata=doc(
            "For how long this worker has seen the index behind without catching up on any "
            "write (index check); 0 when in step."
        ),
    )
    import_running = fields.Boolean(
        metadata=doc(
            "Whether a `kb import` runs (index check): its lag closes when it ends; a lag "
            "with none running is one that died."
        ),
    )
    error = _path("Which way the check failed, without the error's own text.")


class ReadyChecksOut(OutSchema):
    store = fields.Nested(ReadyCheckOut, required=True)
    index = fields.Nested(ReadyCheckOut, required=True)


class ReadyOut(OutSchema):
    status = fields.String(required=True, validate=validate.OneOf(("ready", "not ready")))
    checks = fields.Nested(ReadyChecksOut, required=True)


class FieldErrorOut(OutSchema):
    field = _path(
        "The query parameter or body field (`body` for the body as a whole).",
        "limit",
        required=True,
    )
    message = _path(
        "What is wrong with it.",
        "Must be greater than or equal to 1 and less than or equal to 200.",
        required=True,
    )


class ProblemOut(OutSchema):
    """An error, as `application/problem+json` (RFC 9457), on every path."""

    type = fields.String(
        required=True,
        metadata=doc(
            "A relative URI naming the kind of problem, `/problems/<slug>`.",
            "/problems/bad-request",
            format="uri-reference",
        ),
    )
    title = _path("A short summary of the kind of problem.", "Bad request", required=True)
    status = fields.Integer(
        required=True, validate=validate.Range(min=400, max=599), metadata=doc("The HTTP status.")
    )
    detail = _path("What was wrong with this request, and how to put it right.", required=True)
    instance = fields.String(
        metadata=doc(
            "The request's path; absent from a 414 or 431, refused before its path was read.",
            format="uri-reference",
        )
    )
    errors = fields.List(
        fields.Nested(FieldErrorOut),
        metadata=doc("One entry per invalid field; only when the problem concerns fields."),
    )


class OpenApiDocumentOut(OutSchema):
    """This contract, as JSON; only its top-level keys are stated here."""

    class Meta:
        unknown = INCLUDE

    openapi = _path("The OpenAPI version.", "3.1.0", required=True)
    info = fields.Dict(required=True)
    paths = fields.Dict(required=True)
    components = fields.Dict()

"""The OpenAPI document, built from the marshmallow schemas and the operation table below.

The schemas in `schemas/` say what every body holds; this module says which operation takes
and answers which schema, with what status, headers, examples and prose. `kb openapi` prints
the result, `make openapi` writes it to `openapi.yaml`, and `/openapi.yaml`, `/openapi.json`
and `/docs` serve it (see `service.views.docs`). A test fails when the committed file and
this build differ.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_cls
from marshmallow import Schema, fields

from schemas import api, records
from service import limits
from service import openapi_examples as ex
from service.decoding import CHARSET_NAMES
from service.matching.rank import CONFIDENT

TITLE = "KB log-match service"
VERSION = "1.0.0"
OPENAPI_VERSION = "3.1.0"

# -- how marshmallow becomes JSON Schema ----------------------------------------------------


class _Converter(OpenAPIConverter):
    """apispec's converter, taught two habits of these schemas."""

    def field2property(self, field: fields.Field) -> dict[str, Any]:
        # Values dumped as built elsewhere (links, cached match context) name the field that
        # describes them.
        described = getattr(field, "documented_as", None)
        return super().field2property(described if described is not None else field)

    def _field2parameter(self, field: fields.Field, *, name: str, location: str) -> dict:
        # A query parameter is absent or a string, never null, whatever the field allows.
        parameter = super()._field2parameter(field, name=name, location=location)
        kinds = parameter["schema"].get("type")
        if isinstance(kinds, list) and "null" in kinds:
            rest = [kind for kind in kinds if kind != "null"]
            parameter["schema"]["type"] = rest[0] if len(rest) == 1 else rest
        return parameter

    def field2default(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
        # `load_default=None` means "absent"; `default: null` would only confuse readers.
        found = super().field2default(field, **kwargs)
        return {} if found.get("default", 0) is None else found


class _Plugin(MarshmallowPlugin):
    """The marshmallow plugin, with a schema's own docstring as its description."""

    Converter = _Converter

    def schema_helper(self, name: str, _: Any, schema: Any = None, **kwargs: Any) -> dict:
        definition = super().schema_helper(name, _, schema=schema, **kwargs) or {}
        if schema is None:
            return definition
        text = resolve_schema_cls(schema).__dict__.get("__doc__")
        if text:
            definition = {"description": inspect.cleandoc(text).replace("\n", " "), **definition}
        return definition


def _schema_name(schema: type[Schema] | Schema) -> str:
    """Component names: `ArticleOut` -> `Article`; a record schema used as input, `...Input`."""
    cls = resolve_schema_cls(schema)
    name = cls.__name__
    if cls.__module__ == records.__name__:
        return name.removesuffix("Schema") + "Input"
    return name.removesuffix("Out").removesuffix("Schema")


# -- prose ----------------------------------------------------------------------------------

DESCRIPTION = f"""\
Matches pasted logs to the known issues of a knowledge base. Post a log to `/v1/match` (one \
or more log files as text, or a single line in the query string): each line is parsed (SMS \
1.x and 2.0, ConfigMgr, CMTrace, timestamped or plain text), normalised and compared with the \
symptoms the articles quote. The answer ranks the known issues the log shows, each with its \
evidence (which pasted line matched which symptom, and how: exactly, once normalised, or in \
part), the error codes seen and their meaning, the issue's causes, and its remediation \
(workarounds with ordered steps, preconditions and warnings) with links to related articles. \
Someone with a problem but no log can search the articles in words at `/v1/search`. Articles \
and the records extracted from them (issues, symptoms, causes, workarounds) are listed and \
read under `/v1`; every record carries `links` to the records it names, so a client can walk \
from any record to the rest.

Every `/v1` endpoint answers `application/json` unless asked otherwise. Matches, articles \
and issues are also written for people: `Accept: text/markdown` gives a chat message (the top \
issues, why they matched, numbered steps with their warnings, the article link), `Accept: \
text/plain` the same for a terminal, wrapped to 80 columns. Every error, on every path, is an \
`application/problem+json` body (RFC 9457) whose `detail` says what to change. Unknown query \
parameters are ignored; unknown fields of a JSON body are a 422 naming them. A JSON body's \
values have the types stated (`"limit": "3"` is a 422); a query parameter is text, so there \
`limit=3` is the number 3. Every answer carries `X-Request-ID`, and `X-Correlation-ID` when \
the request sent one.

`application/problem+json` is for errors only: a `/v1` request whose `Accept` admits nothing \
else is a 406. A method a path does not take, `OPTIONS` included, is a 405 whose `Allow` \
header lists those it takes. The server reads a request line (method, path and query string, \
percent-encoded) of up to {limits.REQUEST_LINE_BYTES} bytes, else a 414, and up to \
{limits.REQUEST_HEADERS} headers of up to {limits.REQUEST_HEADER_BYTES} bytes each, else a \
431: a long log line goes in the body of `POST /v1/match`, not in its query string.

With several workers (`KB_WORKERS`), an article written, replaced or deleted (`PUT`, `DELETE`, \
`POST /v1/articles/import`) is seen by `/v1/match` and `/v1/search` in every worker within \
about a second of the answer: each worker checks the index for changes at most once a second. \
The article and its records are read from the store, and show the write at once.
"""

TAGS = [
    {"name": "match", "description": "A pasted log or one log line in, ranked known issues out."},
    {"name": "search", "description": "Articles for a problem described in words."},
    {"name": "articles", "description": "Knowledge-base articles, whole or summarised."},
    {
        "name": "records",
        "description": "The issues, symptoms, causes and workarounds extracted from articles.",
    },
    {
        "name": "feedback",
        "description": "Whether a match helped, what was learned from it, and usage figures.",
    },
    {"name": "page", "description": "Pages for people at a browser."},
    {"name": "health", "description": "Liveness, readiness and metrics."},
    {"name": "docs", "description": "This contract, as YAML, as JSON and as a page."},
]

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "One of the tokens the server reads from KB_API_TOKENS or KB_TOKEN_FILE.",
    },
    "metricsToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The server's KB_METRICS_TOKEN, when it sets one.",
    },
}
WRITER = [{"bearer": []}]

HEADERS = {
    "RequestId": {
        "description": (
            "The id the server gave this request; a match is named by it in `/v1/feedback`, "
            "and the server's log quotes it."
        ),
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
    "CorrelationId": {
        "description": (
            "The `X-Correlation-ID` (or, from a proxy, `X-Request-ID`) the request carried, "
            "sent back when it was a plain token, to follow a request across systems."
        ),
        "schema": {"type": "string"},
    },
    "ServerTiming": {
        "description": "Time the application spent on the request: `app;dur=<milliseconds>`.",
        "schema": {"type": "string"},
        "example": "app;dur=3.41",
    },
    "RetryAfter": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Location": {"description": "The article's URL.", "schema": {"type": "string"}},
    "WwwAuthenticate": {
        "description": "The bearer challenge.",
        "schema": {"type": "string"},
        "example": 'Bearer realm="kb"',
    },
    "Allow": {
        "description": "The methods the path takes.",
        "schema": {"type": "string"},
        "example": "GET, HEAD, OPTIONS",
    },
}
_ALWAYS = {
    "X-Request-ID": "RequestId",
    "X-Correlation-ID": "CorrelationId",
    "Server-Timing": "ServerTiming",
}


def _response(
    description: str, content: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    """A response with the headers every answer carries, plus `headers` (name: component)."""
    response: dict[str, Any] = {
        "description": description,
        "headers": {**_ALWAYS, **{name.replace("_", "-"): ref for name, ref in headers.items()}},
    }
    if content is not None:
        response["content"] = content
    return response


def _refused(description: str, content: dict[str, Any]) -> dict[str, Any]:
    """A response gunicorn's worker writes before the app sees the request: no app headers."""
    return {"description": description, "content": content}


def _media(schema: Any, example: Any = None, examples: dict[str, Any] | None = None) -> dict:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    if examples:
        media["examples"] = examples
    return media


def _json(schema: Any, example: Any = None, examples: dict[str, Any] | None = None) -> dict:
    return {"application/json": _media(schema, example, examples)}


def _problem(example: Any = None, examples: dict[str, Any] | None = None) -> dict:
    return {"application/problem+json": _media(api.ProblemOut, example, examples)}


def _named(**values: Any) -> dict[str, Any]:
    """Named examples, as `examples:` wants them."""
    return {name.replace("_", "-"): {"value": value} for name, value in values.items()}


HTML = {"text/html": {"schema": {"type": "string"}}}
# What the page's "did this fix it?" buttons send: the paste form, or a form of its own.
PAGE_FEEDBACK_FORM = {
    "type": "object",
    "required": ["request_id", "helpful"],
    "properties": {
        "request_id": {"type": "string", "minLength": 1},
        "issue_id": {"type": "string", "minLength": 1},
        "helpful": {"type": "string", "enum": ["yes", "no"]},
        "log": {
            "type": "string",
            "description": "The paste the match answered, shown answered again.",
        },
    },
}
RENDERINGS = {
    "text/markdown": {"schema": {"$ref": "#/components/schemas/RenderedMarkdown"}},
    "text/plain": {"schema": {"$ref": "#/components/schemas/RenderedText"}},
}

PLAIN_SCHEMAS: dict[str, dict[str, Any]] = {
    "RenderedMarkdown": {
        "type": "string",
        "description": (
            "The JSON answer written in Markdown for a chat client: a heading per issue, the "
            "matched lines as code, causes, remediation as numbered steps with warnings quoted, "
            "and absolute links to the pages of the issues and articles."
        ),
        "example": (
            "## 1. Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
            "installation\n\n[KB264630](http://127.0.0.1:8000/articles/264630): SMS 2.0 SP1 "
            "and SP2 Interoperability Issues When Required Updates Are Not Applied\n"
        ),
    },
    "RenderedText": {
        "type": "string",
        "description": "The JSON answer as plain text wrapped to 80 columns, for a terminal.",
        "example": (
            "1. Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2\n"
            "   installation\n   KB264630 issue 264630-1  confidence 0.86\n"
        ),
    },
    # A raw body is bytes the server decodes, hence `format: binary`: it is also what makes
    # client generators send the body as it is rather than try to serialise a string.
    "RawLog": {
        "type": "string",
        "format": "binary",
        "minLength": 1,
        "pattern": api.NOT_BLANK,
        "description": (
            "The log as pasted: one or more log files, each optionally under a line naming it "
            "(`Clisvc.log`). Sent as bytes, read as UTF-8, as UTF-16 or UTF-32 by its BOM, or "
            "in the Content-Type's `charset`."
        ),
    },
}

# -- shared responses -----------------------------------------------------------------------

RESPONSES: dict[str, dict[str, Any]] = {
    "ArticleWritten": _response(
        "The article as stored (201 when it is new), its URL in `Location`.",
        _json(api.ArticleOut, ex.ARTICLE_WRITTEN),
        Location="Location",
    ),
    "BadRequest": _response(
        "A query parameter or the body is wrong: out of range, missing, malformed JSON, an "
        "empty paste, text that cannot be decoded. `errors` names each field at fault, when "
        "there is one.",
        _problem(ex.PROBLEM_BAD_REQUEST),
    ),
    "Unauthorized": _response(
        "No bearer token, or one the server does not know.",
        _problem(ex.PROBLEM_UNAUTHORIZED),
        WWW_Authenticate="WwwAuthenticate",
    ),
    "Forbidden": _response(
        "Writes are off: the server has no token configured.",
        _problem(),
    ),
    "NotFound": _response(
        "No record has this id (for articles: this id or alias).",
        _problem(ex.PROBLEM_NOT_FOUND),
    ),
    "MethodNotAllowed": _response(
        "The path exists, not for this method (`OPTIONS` included); `Allow` lists the methods "
        "it takes.",
        _problem(ex.PROBLEM_METHOD_NOT_ALLOWED),
        Allow="Allow",
    ),
    "NotAcceptable": _response(
        "The `Accept` header rules out every type the endpoint answers with (JSON, and for "
        "matches, articles and issues Markdown and plain text); `application/problem+json` "
        "alone is such a header, since only errors are problems. Send `Accept: "
        "application/json`, `*/*`, or no Accept header.",
        _problem(ex.PROBLEM_NOT_ACCEPTABLE),
    ),
    "Conflict": _response(
        "The article is curated in `kb_data/` and is changed there, not through the API; or "
        "the verdict was reviewed already.",
        _problem(),
    ),
    "PayloadTooLarge": _response(
        f"The body is over the size the server accepts ({limits.MAX_BODY_BYTES // 1024 // 1024} "
        "MiB by default, `KB_MAX_BODY_BYTES`), whether sent with a Content-Length or in "
        f"chunks; or the paste has more lines than allowed ({limits.MAX_PASTE_LINES} by "
        "default, `KB_MAX_PASTE_LINES`); or matching it would take longer than one request "
        f"is given ({limits.MATCH_BUDGET_MS} ms by default, `KB_MATCH_BUDGET_MS`), as "
        "thousands of distinct lines do against a large knowledge base. `detail` says which; "
        "send the part of the log around the error.",
        _problem(
            examples=_named(
                body=ex.PROBLEM_BODY_TOO_LARGE,
                lines=ex.PROBLEM_TOO_MANY_LINES,
                time=ex.PROBLEM_TOO_SLOW,
            )
        ),
    ),
    "UriTooLong": _refused(
        "The request line (method, path, query string percent-encoded) is over "
        f"{limits.REQUEST_LINE_BYTES} bytes, refused before the request is read, so without "
        "`instance` or the headers every other answer carries. Send a long log line as the "
        "body of `POST /v1/match`; shorten the other parameters.",
        _problem(ex.PROBLEM_URI_TOO_LONG),
    ),
    "HeadersTooLarge": _refused(
        f"More than {limits.REQUEST_HEADERS} headers, or one over "
        f"{limits.REQUEST_HEADER_BYTES} bytes; refused before the request is read, so without "
        "`instance` or the headers every other answer carries.",
        _problem(ex.PROBLEM_HEADERS_TOO_LARGE),
    ),
    "UnsupportedMediaType": _response(
        "The body's Content-Type is neither text (`text/*`, `application/octet-stream`, "
        "`application/x-www-form-urlencoded`) nor JSON (`application/json`, `*+json`) where "
        f"both are read, or it names a `charset` other than {CHARSET_NAMES} (`errors` then "
        "names `charset`).",
        _problem(examples=_named(media_type=ex.PROBLEM_MEDIA_TYPE, charset=ex.PROBLEM_CHARSET)),
    ),
    "UnprocessableContent": _response(
        "The JSON body parsed, but its fields are not acceptable: a required one missing, one "
        "out of range, or one the schema does not list. `errors` names each.",
        _problem(ex.PROBLEM_UNPROCESSABLE),
    ),
    "TooManyRequests": _response(
        "The client sent more than `KB_RATE_LIMIT` requests a minute (no limit unless set), "
        "or has too many verdicts waiting for review. `Retry-After` says when to try again.",
        _problem(ex.PROBLEM_TOO_MANY_REQUESTS),
        Retry_After="RetryAfter",
    ),
    "InternalError": _response(
        "The server failed to answer; the error is in its log.",
        _problem(ex.PROBLEM_INTERNAL),
    ),
    "MetricsUnauthorized": _response(
        "The server wants a token for metrics, and the request has none or another.",
        _problem(ex.PROBLEM_METRICS_UNAUTHORIZED),
        WWW_Authenticate="WwwAuthenticate",
    ),
    "MetricsElsewhere": _response(
        "The server serves metrics on a listener of their own (`KB_METRICS_BIND`), not here.",
        _problem(ex.PROBLEM_METRICS_ELSEWHERE),
    ),
}
_STATUS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "Conflict": 409,
    "PayloadTooLarge": 413,
    "UriTooLong": 414,
    "UnsupportedMediaType": 415,
    "UnprocessableContent": 422,
    "TooManyRequests": 429,
    "HeadersTooLarge": 431,
    "InternalError": 500,
}


# What any operation may answer: another method (405), a request the server refuses unread
# (414, 431), and a failure of its own (500).
ALWAYS = ("MethodNotAllowed", "UriTooLong", "HeadersTooLarge", "InternalError")


def _errors(*names: str) -> dict[str, str]:
    """Error responses by component name, keyed by status, with those of ALWAYS."""
    return {str(_STATUS[name]): name for name in sorted((*names, *ALWAYS), key=_STATUS.get)}


# Every /v1 path checks Accept first, and every path but the probes is rate limited.
V1 = ("NotAcceptable", "TooManyRequests")
WRITE = ("Unauthorized", "Forbidden")

# -- parameters -----------------------------------------------------------------------------


def _path_id(name: str, description: str, *examples: str, **schema: Any) -> dict[str, Any]:
    """A path parameter naming a record; several examples are named after their form."""
    parameter: dict[str, Any] = {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, **schema},
    }
    if len(examples) == 1:
        parameter["example"] = examples[0]
    else:
        parameter["examples"] = {example: {"value": example} for example in examples}
    return parameter


PARAMETERS = {
    "ArticleRef": _path_id(
        "article_ref",
        "The article's KB number (`264630`) or an alias of it (`Q264630`, `KB264630`; case "
        "does not matter).",
        "264630",
        "Q264630",
        "KB264630",
        pattern=r"^(?:[Qq]|[Kk][Bb])?[0-9]{1,8}$",
    ),
    "ArticleNumber": _path_id(
        "article_ref",
        "The article's KB number, digits only: a write names the article whose record ids "
        "start with it, never an alias (an alias is a 400). It is the body's `id`, if the "
        "body has one.",
        "900100",
        pattern=r"^[0-9]{1,8}$",
    ),
    "IssueId": _path_id(
        "issue_id", "The issue's id: its article's KB number and its number.", "264630-1"
    ),
    "SymptomId": _path_id("symptom_id", "The symptom's id.", "264630-1-s05"),
    "CauseId": _path_id("cause_id", "The cause's id.", "264630-c1"),
    "WorkaroundId": _path_id("workaround_id", "The workaround's id.", "264630-w2"),
    "LearnedId": _path_id(
        "learned_id",
        "The learned symptom's id, as the issue's `learned_symptoms` list it.",
        "264630-1-l01",
    ),
    "FeedbackId": {
        "name": "feedback_id",
        "in": "path",
        "required": True,
        "description": "The verdict's id, as `POST /v1/feedback` and the pending list give it.",
        "schema": {"type": "integer", "minimum": 1, "maximum": limits.MAX_RECORD_NUMBER},
        "example": 12,
    },
}


def _query(schema: type[Schema]) -> list[dict[str, Any]]:
    """Query parameters, one per field of an arguments schema."""
    return [{"in": "query", "schema": schema}]


# -- operations -----------------------------------------------------------------------------

# Bodies written through the API: the shape of a kb_data file; the path supplies the id.
ARTICLE_INPUT = records.ArticleDocumentSchema(partial=("id",))


def _list(what: str, schema: type[Schema], example: dict[str, Any], about: str) -> dict:
    return {
        "tags": ["articles" if what == "articles" else "records"],
        "operationId": f"list{what.capitalize()}",
        "summary": f"List {what}",
        "description": (
            f"One page of {about}, ordered by id. The filters combine with AND"
            + (
                ""
                if what == "articles"
                else f" and apply to the article each of the {what} is from"
            )
            + ". `links.next` (or `next_cursor` sent as `cursor`) gives the next page; "
            "`next_cursor` is null on the last."
        ),
        "parameters": _query(api.ListArgsSchema),
        "responses": {
            "200": _response(f"One page of {what}.", _json(schema, example)),
            **_errors("BadRequest", *V1),
        },
    }


def _get(
    what: str, parameter: str, schema: type[Schema], example: dict[str, Any], about: str
) -> dict:
    return {
        "tags": ["records"],
        "operationId": f"get{what.capitalize()}",
        "summary": f"Get one {what}",
        "description": about,
        "parameters": [parameter],
        "responses": {
            "200": _response(f"The {what}.", _json(schema, example)),
            **_errors("NotFound", *V1),
        },
    }


def _verdict(approve: bool) -> dict:
    verb = "approve" if approve else "reject"
    return {
        "tags": ["feedback"],
        "operationId": f"{verb}Feedback",
        "summary": (
            "Apply a pending verdict (needs a token)"
            if approve
            else "Close a pending verdict unapplied (needs a token)"
        ),
        "description": (
            'A confirmation\'s lines become learned symptoms of its issue; a "not helpful" '
            "verdict's lines count against it. The next match shows the change. A verdict is "
            "reviewed once; again is a 409."
            if approve
            else "Nothing is applied. A verdict is reviewed once; again is a 409."
        ),
        "security": WRITER,
        "parameters": ["FeedbackId"],
        "responses": {
            "200": _response(
                "Applied." if approve else "Rejected; nothing changed.",
                _json(api.FeedbackOut, ex.FEEDBACK_APPROVED if approve else ex.FEEDBACK_REJECTED),
            ),
            **_errors(*WRITE, "NotFound", "Conflict", *V1),
        },
    }


MATCH_ANSWER = {
    **_json(
        api.MatchResponseOut,
        examples={
            "matched": {
                "summary": "A Clisvc.log excerpt showing issue 264630-1",
                "value": ex.MATCHED,
            },
            "brief": {
                "summary": "The same paste answered with detail=brief",
                "value": ex.MATCHED_BRIEF,
            },
            "no-match": {"summary": "A paste that shows no known issue", "value": ex.NOT_MATCHED},
            "filtered-out": {
                "summary": "A paste whose issue the version filter left out",
                "value": ex.FILTERED_OUT,
            },
        },
    ),
    **RENDERINGS,
}

OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "/metrics",
        "get",
        {
            "tags": ["health"],
            "operationId": "getMetrics",
            "summary": "Prometheus metrics",
            "description": (
                "Requests by route, method and status, latency histograms per route, match "
                "outcomes (confident, weak, none) and the sizes of the store and the index, "
                "summed over the workers. Open, unless the server guards it: with "
                "`KB_METRICS_TOKEN` it needs that token as a bearer token (401 without); with "
                "`KB_METRICS_BIND` it is served on that listener only, which serves nothing "
                "else (404 on the API's)."
            ),
            "security": [{}, {"metricsToken": []}],
            "responses": {
                "200": _response(
                    "The Prometheus text format.",
                    {"text/plain": _media({"type": "string"}, ex.METRICS_TEXT)},
                ),
                "401": "MetricsUnauthorized",
                "404": "MetricsElsewhere",
                **_errors(),
            },
        },
    ),
    (
        "/healthz",
        "get",
        {
            "tags": ["health"],
            "operationId": "getHealth",
            "summary": "Liveness probe",
            "description": (
                "200 while the process answers requests. Neither the store nor the index is "
                "touched; `/readyz` checks those."
            ),
            "responses": {
                "200": _response("The process is alive.", _json(api.HealthOut, ex.HEALTH)),
                **_errors(),
            },
        },
    ),
    (
        "/readyz",
        "get",
        {
            "tags": ["health"],
            "operationId": "getReadiness",
            "summary": "Readiness probe",
            "description": (
                "Checks that the SQLite store and the index can be read and that the index holds "
                "what the store holds: it compares the store's revision (its count of writes) "
                "with the revision the index has applied, saying how many writes the index "
                "misses (`behind`) and for how long this worker has seen it miss them without "
                "catching up (`stalled_seconds`). 200 when every check passes. 503, same body, "
                "when the store or the index cannot be read; when the index misses more than "
                f"`KB_READY_MAX_BEHIND` writes ({limits.READY_MAX_BEHIND}); when it has missed "
                f"some for longer than `KB_READY_STALL_SECONDS` ({limits.READY_STALL_SECONDS}) "
                "with no import running (an import that died: `kb check` repairs it); or when "
                "this worker has failed that long to open the index's newest state. The server "
                "logs the errors; `error` only names the check that failed."
            ),
            "responses": {
                "200": _response(
                    "Store and index readable, the index in step with the store (or close).",
                    _json(api.ReadyOut, ex.READY),
                ),
                "503": _response(
                    "The store or the index cannot be read, or the index lags far behind the "
                    "store; `checks` says which.",
                    _json(api.ReadyOut, ex.NOT_READY),
                ),
                **_errors(),
            },
        },
    ),
    (
        "/openapi.yaml",
        "get",
        {
            "tags": ["docs"],
            "operationId": "getOpenapiYaml",
            "summary": "This contract as YAML",
            "description": "The OpenAPI 3.1 document of this API, as `kb openapi` prints it.",
            "responses": {
                "200": _response(
                    "The OpenAPI document.",
                    {
                        "application/yaml": _media(
                            {"type": "object"},
                            f"openapi: {OPENAPI_VERSION}\ninfo:\n  title: {TITLE}\n...",
                        )
                    },
                ),
                **_errors("TooManyRequests"),
            },
        },
    ),
    (
        "/openapi.json",
        "get",
        {
            "tags": ["docs"],
            "operationId": "getOpenapiJson",
            "summary": "This contract as JSON",
            "description": "The document `/openapi.yaml` serves, as JSON.",
            "responses": {
                "200": _response(
                    "The OpenAPI document.", _json(api.OpenApiDocumentOut, ex.OPENAPI_JSON)
                ),
                **_errors("TooManyRequests"),
            },
        },
    ),
    (
        "/docs",
        "get",
        {
            "tags": ["docs"],
            "operationId": "getDocs",
            "summary": "API reference page",
            "description": "An HTML page made from this contract, a section per operation.",
            "responses": {
                "200": _response(
                    "The reference page.", {"text/html": _media({"type": "string"}, ex.DOCS_HTML)}
                ),
                **_errors("TooManyRequests"),
            },
        },
    ),
    (
        "/v1/articles",
        "get",
        _list(
            "articles",
            api.ArticlePageOut,
            ex.ARTICLE_PAGE,
            "article summaries (an article's own fields, without the records extracted from it)",
        ),
    ),
    (
        "/v1/articles/{article_ref}",
        "get",
        {
            "tags": ["articles"],
            "operationId": "getArticle",
            "summary": "Get one article with all its records",
            "description": (
                "The whole article: its fields, aliases, prose sections, related articles, the "
                "articles that name it, and every issue, symptom, cause and workaround extracted "
                "from it, each with its links. Name it by KB number (`264630`) or by an alias "
                "(`Q264630`, `KB264630`, in any case); the answer carries the canonical `id`."
            ),
            "parameters": ["ArticleRef"],
            "responses": {
                "200": _response(
                    "The article.", {**_json(api.ArticleOut, ex.ARTICLE), **RENDERINGS}
                ),
                **_errors("NotFound", *V1),
            },
        },
    ),
    (
        "/v1/articles/{article_ref}",
        "put",
        {
            "tags": ["articles"],
            "operationId": "putArticle",
            "summary": "Create or replace an article (needs a token)",
            "description": (
                "Writes one article in the shape of the curated files (`kb_data/README.md`), as "
                "JSON. The path names it by KB number; an `id` in the body must be the same. "
                "Once answered, the write is durable: the store commits, the index follows; "
                "the article reads back at once, and `/v1/match` and `/v1/search` in every "
                "worker see the change within about a second (each worker checks the index "
                "for changes at most once a second). A curated article is a 409: it "
                "is changed in `kb_data/`. Rules between fields that the schema cannot state "
                "(record ids start with the article's number, links point at records of the "
                "article, steps are numbered in order) are checked too, a 422 naming the field."
            ),
            "security": WRITER,
            "parameters": ["ArticleNumber"],
            "requestBody": {
                "required": True,
                "content": _json(ARTICLE_INPUT, ex.ARTICLE_INPUT),
            },
            "responses": {
                "200": "ArticleWritten",
                "201": "ArticleWritten",
                **_errors(
                    "BadRequest",
                    *WRITE,
                    "NotFound",
                    "Conflict",
                    "PayloadTooLarge",
                    "UnsupportedMediaType",
                    "UnprocessableContent",
                    *V1,
                ),
            },
        },
    ),
    (
        "/v1/articles/{article_ref}",
        "delete",
        {
            "tags": ["articles"],
            "operationId": "deleteArticle",
            "summary": "Delete an article and all its records (needs a token)",
            "description": (
                "Named by KB number or alias. Once answered, the article is gone from the "
                "store; `/v1/match` and `/v1/search` in every worker stop finding it within "
                "about a second (each worker checks the index for changes at most once a "
                "second). A curated article is a 409: it is removed from `kb_data/` instead."
            ),
            "security": WRITER,
            "parameters": ["ArticleRef"],
            "responses": {
                "204": _response(
                    "Deleted, with every issue, symptom, cause and workaround of the article."
                ),
                **_errors(*WRITE, "NotFound", "Conflict", *V1),
            },
        },
    ),
    (
        "/v1/articles/import",
        "post",
        {
            "tags": ["articles"],
            "operationId": "importArticle",
            "summary": "Import one article from KB text (needs a token)",
            "description": (
                "The body is one article as text, in the plain KB format or the archive's "
                "Markdown; the importer extracts its issues, quoted log lines, causes, steps "
                "and related articles. It is decoded as a paste to `POST /v1/match` is (the "
                "same charsets), except that text declaring no charset that is not UTF-8 is "
                "read as windows-1252, the archives' own encoding, as `kb import` reads it. "
                "It is answered as `PUT` is, with the article as stored, and seen as a `PUT` "
                "is: read back at once, found by `/v1/match` and `/v1/search` in every worker "
                "within about a second."
            ),
            "security": WRITER,
            "requestBody": {
                "required": True,
                "content": {
                    "text/plain": _media(
                        {
                            "type": "string",
                            "format": "binary",
                            "minLength": 1,
                            "pattern": api.NOT_BLANK,
                        },
                        ex.ARTICLE_TEXT,
                    )
                },
            },
            "responses": {
                "200": "ArticleWritten",
                "201": "ArticleWritten",
                **_errors(
                    "BadRequest",
                    *WRITE,
                    "Conflict",
                    "PayloadTooLarge",
                    "UnsupportedMediaType",
                    "UnprocessableContent",
                    *V1,
                ),
            },
        },
    ),
    (
        "/v1/issues",
        "get",
        _list(
            "issues",
            api.IssuePageOut,
            ex.ISSUE_PAGE,
            "issues (the numbered problems an article describes)",
        ),
    ),
    (
        "/v1/issues/{issue_id}",
        "get",
        {
            "tags": ["records"],
            "operationId": "getIssue",
            "summary": "Get one issue",
            "description": (
                "An issue with the ids of, and links to, its symptoms, causes and workarounds, "
                "and the lines feedback taught it. `expand` inlines the named records in full, "
                "so one request gives an issue's causes and remediation steps with their "
                "warnings."
            ),
            "parameters": ["IssueId", *_query(api.IssueArgsSchema)],
            "responses": {
                "200": _response("The issue.", {**_json(api.IssueOut, ex.ISSUE), **RENDERINGS}),
                **_errors("BadRequest", "NotFound", *V1),
            },
        },
    ),
    (
        "/v1/symptoms",
        "get",
        _list(
            "symptoms",
            api.SymptomPageOut,
            ex.SYMPTOM_PAGE,
            "symptoms (the log lines, error messages and conditions the articles quote)",
        ),
    ),
    (
        "/v1/symptoms/{symptom_id}",
        "get",
        _get(
            "symptom",
            "SymptomId",
            api.SymptomOut,
            ex.SYMPTOM,
            "A symptom as its article quotes it, with the log files it is written to.",
        ),
    ),
    (
        "/v1/causes",
        "get",
        _list(
            "causes",
            api.CausePageOut,
            ex.CAUSE_PAGE,
            "causes (a cause may name, as `missing_update`, the KB number of an update whose "
            "absence brings the issues about)",
        ),
    ),
    (
        "/v1/causes/{cause_id}",
        "get",
        _get(
            "cause",
            "CauseId",
            api.CauseOut,
            ex.CAUSE,
            "A cause, with a link to the missing update's article when the knowledge base has it.",
        ),
    ),
    (
        "/v1/workarounds",
        "get",
        _list(
            "workarounds",
            api.WorkaroundPageOut,
            ex.WORKAROUND_PAGE,
            "workarounds (ways to fix or avoid issues, with their ordered steps)",
        ),
    ),
    (
        "/v1/workarounds/{workaround_id}",
        "get",
        _get(
            "workaround",
            "WorkaroundId",
            api.WorkaroundOut,
            ex.WORKAROUND,
            "A workaround with its preconditions, warnings and ordered steps.",
        ),
    ),
    (
        "/v1/match",
        "post",
        {
            "tags": ["match"],
            "operationId": "matchLog",
            "summary": "Match a pasted log to known issues",
            "description": (
                "The log goes in the body; the answer is the known issues it shows, best first, "
                "each with the pasted lines that matched its symptoms, the error codes seen, "
                "its causes and its remediation. The body is the raw log (`text/*`, "
                "`application/octet-stream`, or `application/x-www-form-urlencoded`, which "
                "`curl --data-binary @file.log` sends unless told otherwise: the body is read "
                'as it is, never as form fields), or a JSON object `{"log": "...", '
                '"limit": 5}` (`application/json` or any `+json` type). A raw body is '
                f"decoded in the `charset` its Content-Type names, one of {CHARSET_NAMES} "
                "(another is a 415); a BOM wins over it, and with no charset the body is UTF-8, "
                "or UTF-16 or UTF-32 as its BOM or its NULs show. Lines naming a log file "
                "(`Clisvc.log` on a line of its own) are recognised and help the ranking. Each "
                "match says how sure it is (`certainty`, `not sure` below a confidence of "
                f"{CONFIDENT}) and why (`confidence_reason`), and links its page for people "
                "(`page_url`). `detail=brief` answers with what a ticket needs (how sure, a few "
                "lines of why, the fixes by title) instead of every part. The query parameters "
                "`limit`, `product`, `version` and `detail` win over the JSON body's. A paste "
                "that shows no known issue is a 200 with no `matches` and a `hint`. With "
                "`product` or `version`, `filters` says which known products and versions they "
                "stand for, how many issues the paste matches that they left out and which of "
                "them did, and the known names closest to a filter that names none."
            ),
            "parameters": _query(api.MatchArgsSchema),
            "requestBody": {
                "required": True,
                "description": (
                    f"The log: at most {limits.MAX_BODY_BYTES // 1024 // 1024} MiB "
                    "(`KB_MAX_BODY_BYTES`, with a Content-Length or in chunks) and "
                    f"{limits.MAX_PASTE_LINES} lines (`KB_MAX_PASTE_LINES`). Lines longer than "
                    f"{limits.MAX_LINE_CHARS} characters (`KB_MAX_LINE_CHARS`) are cut before "
                    "they are read, and listed in `truncated_lines`. Matching may take "
                    f"{limits.MATCH_BUDGET_MS} ms (`KB_MATCH_BUDGET_MS`); a paste that needs "
                    "longer is a 413. These are the defaults; the server may set others."
                ),
                # Form-encoded pastes are read as raw text too (the description says so), but
                # are not listed: a form body is an object to every tool that reads this, and a
                # generated client would try to encode the log as form fields. The raw types
                # come first and text/plain after octet-stream: a generated client picks a
                # body's media type by its Python type, the last listed winning a tie.
                "content": {
                    "application/octet-stream": _media(
                        {
                            "type": "string",
                            "format": "binary",
                            "minLength": 1,
                            "pattern": api.NOT_BLANK,
                            "description": "The log file's bytes, decoded as for text/plain.",
                        },
                        ex.PASTE_BYTES,
                    ),
                    "text/plain": _media({"$ref": "#/components/schemas/RawLog"}, ex.PASTE_TEXT),
                    **_json(api.MatchBodySchema, ex.PASTE_JSON),
                },
            },
            "responses": {
                "200": _response(
                    "The issues the log shows, best first (at most `limit`), or none and a `hint`.",
                    MATCH_ANSWER,
                ),
                **_errors(
                    "BadRequest",
                    "PayloadTooLarge",
                    "UnsupportedMediaType",
                    "UnprocessableContent",
                    *V1,
                ),
            },
        },
    ),
    (
        "/v1/match",
        "get",
        {
            "tags": ["match"],
            "operationId": "matchLine",
            "summary": "Match one log line to known issues",
            "description": (
                "The matching of `POST /v1/match` for one line sent in the query string, for a "
                "browser or a link. The answer has the same shape."
            ),
            "parameters": _query(api.MatchLineArgsSchema),
            "responses": {
                "200": _response(
                    "The issues the line shows, best first, or none and a `hint`.",
                    {**_json(api.MatchResponseOut, ex.LINE_MATCHED), **RENDERINGS},
                ),
                **_errors("BadRequest", "PayloadTooLarge", *V1),
            },
        },
    ),
    (
        "/v1/search",
        "get",
        {
            "tags": ["search"],
            "operationId": "searchArticles",
            "summary": "Search articles in words",
            "description": (
                "Full-text search (BM25 over the articles' titles and text, with stemming) for "
                "someone who can describe a problem but has no log. The words are taken as "
                "they are, with no query syntax. Articles holding every word come first; when "
                "they are fewer than `limit`, articles holding some follow (words found in more "
                "than half the articles are left out then: they rank nothing), each group best "
                "first. The words found are wrapped in `**` in the snippets."
            ),
            "parameters": _query(api.SearchArgsSchema),
            "responses": {
                "200": _response(
                    "The matching articles, best first.",
                    _json(api.SearchResponseOut, ex.SEARCH_RESULTS),
                ),
                **_errors("BadRequest", *V1),
            },
        },
    ),
    (
        "/v1/products",
        "get",
        {
            "tags": ["search"],
            "operationId": "listProducts",
            "summary": "List the products and versions the articles apply to",
            "description": (
                "Every product an article applies to, by name, with how many articles apply to "
                "it, the short names the `product` filter knows it by, and the versions its "
                "articles name with their article counts: the values the `product` and "
                "`version` filters of `/v1/match`, `/v1/search` and the lists take. With "
                "`product`, only the products it stands for, or none and `closest_products`."
            ),
            "parameters": _query(api.ProductsArgsSchema),
            "responses": {
                "200": _response("The products, by name.", _json(api.ProductsOut, ex.PRODUCTS)),
                **_errors("BadRequest", *V1),
            },
        },
    ),
    (
        "/v1/feedback",
        "post",
        {
            "tags": ["feedback"],
            "operationId": "postFeedback",
            "summary": "Say whether a match helped",
            "description": (
                "Names a match by the `request_id` its answer carried (also its `X-Request-ID` "
                "header; matches are kept `KB_ACTIVITY_DAYS`, "
                f"{limits.ACTIVITY_DAYS} by default), or by sending the paste again as `log`, "
                "and says whether `issue_id` was the answer. Anyone may send a verdict. It is "
                "recorded as `pending` and changes no answer until a token holder approves it "
                "(`/v1/feedback/pending`) or, when the server sets `KB_FEEDBACK_QUORUM`, until "
                "that many distinct clients say the same of the same line. An approved "
                "confirmation turns the paste's distinctive lines that matched nothing into "
                "learned symptoms of the issue (never lines naming a secret, a user or a "
                "machine, lines several articles share, or lines many recent pastes held): "
                "later pastes with those lines find the issue, weighed less than the article's "
                "own lines. Learned symptoms are listed on the issue, apart from the article's "
                'records, and a token holder can remove them. An approved "not helpful" '
                "verdict halves the issue's score (down to a quarter) whenever the same lines "
                "bring it up again, without dropping it from the answer; a later approved "
                "confirmation on those lines lifts it."
            ),
            "requestBody": {
                "required": True,
                "content": _json(api.FeedbackBodySchema, ex.FEEDBACK_BODY),
            },
            "responses": {
                "201": _response(
                    "Recorded, pending review. With a quorum set, the lines enough distinct "
                    "clients agreed on are applied at once and listed; the next match shows "
                    "them.",
                    _json(api.FeedbackOut, ex.FEEDBACK_PENDING),
                ),
                **_errors(
                    "BadRequest",
                    "NotFound",
                    "PayloadTooLarge",
                    "UnsupportedMediaType",
                    "UnprocessableContent",
                    *V1,
                ),
            },
        },
    ),
    (
        "/v1/feedback/pending",
        "get",
        {
            "tags": ["feedback"],
            "operationId": "listPendingFeedback",
            "summary": "Verdicts waiting for review (needs a token)",
            "description": (
                "Oldest first, each with the normalised lines that approving it would teach the "
                'issue (a confirmation) or count against it (a "not helpful" verdict). For '
                "token holders only: the lines come from what people pasted."
            ),
            "security": WRITER,
            "parameters": _query(api.PendingArgsSchema),
            "responses": {
                "200": _response(
                    "A page of pending verdicts.",
                    _json(api.PendingFeedbackPageOut, ex.PENDING_PAGE),
                ),
                **_errors("BadRequest", *WRITE, *V1),
            },
        },
    ),
    ("/v1/feedback/{feedback_id}/approve", "post", _verdict(approve=True)),
    ("/v1/feedback/{feedback_id}/reject", "post", _verdict(approve=False)),
    (
        "/v1/issues/{issue_id}/learned/{learned_id}",
        "delete",
        {
            "tags": ["feedback"],
            "operationId": "deleteLearnedSymptom",
            "summary": "Remove a learned symptom (needs a token)",
            "description": (
                "Forgets a line feedback taught an issue; the issue stops matching on it at "
                "once. The article's own records are never touched."
            ),
            "security": WRITER,
            "parameters": ["IssueId", "LearnedId"],
            "responses": {
                "204": _response("Removed."),
                **_errors(*WRITE, "NotFound", *V1),
            },
        },
    ),
    (
        "/v1/stats",
        "get",
        {
            "tags": ["feedback"],
            "operationId": "getStats",
            "summary": "Most matched issues, feedback counts and content gaps",
            "description": (
                "What a KB author works from: how many pastes were answered, the issues most "
                "often ranked first with confidence 0.5 or more, and feedback counts. With a "
                "token, `content_gaps` too: the commonest lines of pastes that matched nothing "
                "with confidence, each pasted by at least `KB_GAP_MIN_CLIENTS` distinct clients "
                f"({limits.GAP_MIN_CLIENTS} by default), counted, with when they were first and "
                "last seen. Lines are kept normalised (paths, numbers, dates, user and machine "
                "names turned into placeholders; values of passwords, tokens, keys and "
                "connection-string fields masked before anything is stored); no other text of "
                "a paste is kept."
            ),
            "parameters": _query(api.StatsArgsSchema),
            "responses": {
                "200": _response("The figures.", _json(api.StatsOut, ex.STATS)),
                **_errors("BadRequest", *V1),
            },
        },
    ),
    (
        "/",
        "get",
        {
            "tags": ["page"],
            "operationId": "getPastePage",
            "summary": "The paste page for helpdesk staff",
            "description": (
                "A form to paste a log into or to choose a log file, an example log to try, and "
                "a search box. It works without JavaScript; with it, a file can be dropped on "
                "the box, Ctrl+Enter matches, and a search is shown without leaving the page. "
                "Nothing is loaded from elsewhere."
            ),
            "parameters": [
                {
                    "name": "q",
                    "in": "query",
                    "required": False,
                    "description": (
                        "Words to search the articles for, as `GET /v1/search` does: the page "
                        "lists the articles found below the form."
                    ),
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": limits.MAX_QUERY_CHARS,
                    },
                    "example": "clicore copylog",
                }
            ],
            "responses": {
                "200": _response("The page, with the articles found when `q` is sent.", HTML),
                "400": _response("The page, saying `q` is empty or too long.", HTML),
                **_errors("TooManyRequests"),
            },
        },
    ),
    (
        "/",
        "post",
        {
            "tags": ["page"],
            "operationId": "postPastePage",
            "summary": "Match a pasted log from the page",
            "description": (
                "The form sent: the paste (`log`), a log file (`logfile`) or the example log "
                "(`example`), answered by the page showing the ranked issues, the paste with "
                "the lines that matched and those that did not marked, causes, numbered steps, "
                "links to the articles and the answer as Markdown to copy into a ticket. The "
                "matcher and the answer of `POST /v1/match`."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "description": (
                                "The box's text, or a file (the file wins if both), or the "
                                "example (which wins over both)."
                            ),
                            # The text box must hold a paste only when no file is sent.
                            "anyOf": [
                                {
                                    "required": ["log"],
                                    "properties": {
                                        "log": {"minLength": 1, "pattern": api.NOT_BLANK}
                                    },
                                },
                                {"required": ["logfile"]},
                                {"required": ["example"]},
                            ],
                            "properties": {
                                "log": {"type": "string"},
                                "logfile": {"type": "string", "format": "binary"},
                                "example": {
                                    "type": "string",
                                    "minLength": 1,
                                    "description": (
                                        "Any value: match the example log "
                                        "(`/static/example.log`) instead."
                                    ),
                                },
                            },
                        }
                    },
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["log"],
                            "properties": {
                                "log": {"type": "string", "minLength": 1, "pattern": api.NOT_BLANK}
                            },
                        }
                    },
                },
            },
            "responses": {
                "200": _response("The page with the answer.", HTML),
                "400": _response("The page again, saying what was missing or unreadable.", HTML),
                "413": _response(
                    "The page again, or a problem when the body is over the size limit.",
                    {**HTML, **_problem()},
                ),
                **_errors("TooManyRequests"),
            },
        },
    ),
    (
        "/feedback",
        "post",
        {
            "tags": ["page"],
            "operationId": "postPageFeedback",
            "summary": 'The page\'s "did this fix it?" buttons',
            "description": (
                "The verdict of `POST /v1/feedback` by request id, sent by a form. The page's "
                "buttons send the paste form along, naming their issue in the query: the page "
                "that comes back shows the answer to `log` again, with the verdict beside it. "
                "The issue is named in the query or in the body; naming it in neither is a 400."
            ),
            "parameters": [
                {
                    "name": "issue_id",
                    "in": "query",
                    "required": False,
                    "description": "The issue the verdict is about (else `issue_id` in the body).",
                    "schema": {"type": "string", "minLength": 1},
                    "example": "264630-1",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": PAGE_FEEDBACK_FORM}
                    for media in ("multipart/form-data", "application/x-www-form-urlencoded")
                },
            },
            "responses": {
                "200": _response("The page, saying thank you, with the answer again.", HTML),
                "400": _response("The page, saying the form was incomplete.", HTML),
                "404": _response("The page, saying the match or the issue is unknown.", HTML),
                "429": _response(
                    "The page, saying the client has too many verdicts waiting for review; or "
                    "a problem when the client went over the rate limit.",
                    {**HTML, **_problem(ex.PROBLEM_TOO_MANY_REQUESTS)},
                    Retry_After="RetryAfter",
                ),
                **_errors(),
            },
        },
    ),
    (
        "/articles/{article_ref}",
        "get",
        {
            "tags": ["page"],
            "operationId": "getArticlePage",
            "summary": "An article as a page for people",
            "description": (
                "The record of `GET /v1/articles/{article_ref}` as HTML: what it applies to, "
                "each issue with its symptoms, causes and remediation steps in order with their "
                "warnings, related articles, and links to each issue's page. No script, nothing "
                "from elsewhere; it prints without the navigation. Links are absolute, at "
                "`KB_PUBLIC_URL` when the server has one."
            ),
            "parameters": ["ArticleRef"],
            "responses": {
                "200": _response("The page.", HTML),
                "404": _response(
                    "No article has this id or alias: a page saying so when HTML is preferred "
                    "(`Accept: text/html`, as browsers send), else a problem.",
                    {**HTML, **_problem(ex.PROBLEM_NOT_FOUND)},
                ),
                **_errors("TooManyRequests"),
            },
        },
    ),
    (
        "/issues/{issue_id}",
        "get",
        {
            "tags": ["page"],
            "operationId": "getIssuePage",
            "summary": "An issue as a page for people",
            "description": (
                "The record of `GET /v1/issues/{issue_id}?expand=symptoms,causes,workarounds` "
                "as HTML, with its article's products, other issues and related articles: the "
                "page an issue's or a match's `page_url` names. No script, nothing from "
                "elsewhere; it prints without the navigation."
            ),
            "parameters": ["IssueId"],
            "responses": {
                "200": _response("The page.", HTML),
                "404": _response(
                    "No issue has this id: a page saying so when HTML is preferred (`Accept: "
                    "text/html`, as browsers send), else a problem.",
                    {**HTML, **_problem(ex.PROBLEM_NOT_FOUND)},
                ),
                **_errors("TooManyRequests"),
            },
        },
    ),
]


def build_spec() -> APISpec:
    """The contract as an apispec object: schemas, shared parts, then every operation."""
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[_Plugin(schema_name_resolver=_schema_name)],
        info={
            "summary": (
                "Paste a log, get back the known issues it shows, with evidence, causes and fixes."
            ),
            "description": DESCRIPTION,
            "license": {"name": "Proprietary"},
        },
        servers=[{"url": "/", "description": "The host serving this document."}],
        tags=TAGS,
    )
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    for name, header in HEADERS.items():
        spec.components.header(name, header)
    for name, definition in PLAIN_SCHEMAS.items():
        spec.components.schema(name, definition)
    spec.components.schema(_schema_name(ARTICLE_INPUT), schema=ARTICLE_INPUT)
    spec.components.schema(
        _schema_name(api.FeedbackBodySchema),
        {
            # Exactly one of the two names the match; marshmallow checks it in `one_source`.
            # Said with if/then/else rather than oneOf: validators and fuzzers read both alike,
            # while client generators make a oneOf a union of two models that each hold one
            # field and lose the rest of the body's fields.
            "if": {"required": ["request_id"], "properties": {"request_id": {"type": "string"}}},
            "then": {"properties": {"log": {"type": "null"}}},
            "else": {"required": ["log"], "properties": {"log": {"type": "string"}}},
        },
        schema=api.FeedbackBodySchema,
    )
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation in OPERATIONS:
        paths.setdefault(path, {})[method] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec


TOP_LEVEL = ("openapi", "info", "servers", "tags", "paths", "components")
INFO = ("title", "version", "summary", "description", "license")


def spec_dict() -> dict[str, Any]:
    """The contract as plain data (what `/openapi.json` serves), keys in reading order."""
    built = build_spec().to_dict()
    built["info"] = {key: built["info"][key] for key in INFO}
    return {key: built[key] for key in TOP_LEVEL}


class _Dumper(yaml.SafeDumper):
    """YAML for reading: text of several lines as a block, as it was written."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def spec_yaml() -> str:
    """The contract as YAML, byte for byte what `openapi.yaml` holds."""
    return yaml.dump(spec_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


@lru_cache(maxsize=1)
def served_spec() -> tuple[dict[str, Any], str]:
    """The contract built once per process, as data and as YAML text."""
    text = spec_yaml()
    return yaml.safe_load(text), text

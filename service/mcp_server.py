"""`kb mcp`: the knowledge base as Model Context Protocol tools, served over stdio.

A chatbot client starts this as a subprocess and calls five tools: match a pasted log, search
in words, read an article or an issue, and say whether a match helped. Each tool answers with
exactly the JSON record the HTTP API returns for the same request: it calls what the API's
views call (the match pipeline, the search, the records of articles and issues, the feedback
path), checks its arguments with the same schemas, and dumps its answer with the same schema.
Refusals are told as a model can act on them: what was wrong, and what to call instead.

Results are one text block of compact JSON: a model reads the text, so the same record is not
sent twice (as text and as structured content) nor pretty-printed.

stdout carries the protocol and nothing else; logs go to stderr.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import json
import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from flask import Flask
from marshmallow import ValidationError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from schemas.api import (
    ArticleOut,
    FeedbackBodySchema,
    FeedbackOut,
    IssueOut,
    SearchArgsSchema,
    SearchResponseOut,
)
from service import ArticleRefConverter, create_app
from service.activity import ActivityLog
from service.config import Config
from service.errors import ApiError, field_errors
from service.feedback import FeedbackRefused, TooManyPending, give_feedback
from service.kb import KnowledgeBase
from service.limits import (
    MATCH_DETAILS,
    MATCH_LIMIT_DEFAULT,
    MATCH_LIMIT_MAX,
    MAX_COMMENT_CHARS,
    MAX_ISSUE_ID_CHARS,
    MAX_PRODUCT_CHARS,
    MAX_QUERY_CHARS,
    MAX_REQUEST_ID_CHARS,
    MAX_VERSION_CHARS,
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
)
from service.matching import CONFIDENT, MatchOptions, PasteTooLarge, answer_paste
from service.records import article_record, issue_record
from service.search import search_articles
from service.storage import ArticleNotFound, Store
from service.views.feedback import feedback_body
from service.views.match import dump_answer, load_paste_body

logger = logging.getLogger(__name__)
_Fn = TypeVar("_Fn", bound=Callable[..., Any])

SERVER_NAME = "kb-log-match"
# The distribution the server is installed as: its version is the server's.
DISTRIBUTION = "kb-service"
INSTRUCTIONS = (
    "A knowledge base of known issues of Microsoft Systems Management Server clients and "
    "related products, each with causes and ordered remediation steps. When the user pastes log "
    "lines or error messages, call match_log with the paste as is; it answers briefly unless "
    "asked for detail='full'. Say 'not sure' to the user for a match whose certainty is "
    "'not sure'. When they describe a problem in words, call search_kb. Use get_issue or "
    "get_article to read the full record behind an id seen in a result. Relay remediation steps "
    "in order, with their warnings, and give the user the page_url of a match, issue or "
    "article to read or share. When the user says whether a match helped, call send_feedback "
    "with that match_log answer's request_id."
)

# The same pattern the API routes article ids with, so a malformed id gets a message about ids
# rather than the API's generic "no resource at this path".
_ARTICLE_REF = re.compile(rf"^{ArticleRefConverter.regex}$")
_ISSUE_ID = re.compile(r"^([0-9]{1,8})-([0-9]{1,4})$")
# Read-only lookups over a closed corpus: clients may call them without asking the user.
_READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Feedback is recorded (a write), never destroys anything, and each call is one more verdict.
_RECORDS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)

_SEARCH_ARGS = SearchArgsSchema()
_SEARCH_OUT = SearchResponseOut()
_ARTICLE_OUT = ArticleOut()
_ISSUE_OUT = IssueOut()
_FEEDBACK_BODY = FeedbackBodySchema()
_FEEDBACK_OUT = FeedbackOut()
# The linked records get_issue shows in full.
ISSUE_EXPAND = "causes,workarounds"
# What a tool says when the paste is too large for the server.
PASTE_TOO_LARGE = (
    "the log is larger than this server accepts ({reason}); send the few hundred lines around "
    "the first error instead"
)


def server_version() -> str:
    """The installed package's version; "unknown" when run from a tree that is not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def compact(record: dict[str, Any]) -> CallToolResult:
    """A tool's record as one block of compact JSON text."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)])


def _refused_fields(errors: list[dict[str, str]], arguments: dict[str, Any]) -> str:
    """Bad arguments named with what is wrong with each and the value sent, for a model."""
    parts = []
    for error in errors:
        field = error.get("field", "")
        sent = f" (got {arguments[field]!r})" if field in arguments else ""
        parts.append(f"{field}: {str(error.get('message', '')).rstrip('.').lower()}{sent}")
    return "invalid arguments: " + "; ".join(parts)


@contextlib.contextmanager
def _refusals(arguments: dict[str, Any]) -> Iterator[None]:
    """What the API would refuse becomes a tool error saying what to send instead."""
    try:
        yield
    except ValidationError as exc:
        raise ToolError(_refused_fields(field_errors(exc.messages), arguments)) from None
    except ApiError as exc:
        if exc.errors:
            raise ToolError(_refused_fields(exc.errors, arguments)) from None
        raise ToolError(exc.detail) from None
    except PasteTooLarge as exc:
        raise ToolError(PASTE_TOO_LARGE.format(reason=exc)) from None


def _issues_of(store: Store, article_id: str) -> list[str]:
    """The ids of an article's issues, in their order."""
    numbered = store.issue_ids_by_number([article_id])
    return [numbered[key] for key in sorted(numbered)]


def _listing(ids: list[str]) -> str:
    """ "264630-1", "264630-1 and 264630-2", "a, b and c"."""
    return ids[0] if len(ids) == 1 else f"{', '.join(ids[:-1])} and {ids[-1]}"


def _article_id(store: Store, ref: str) -> str | None:
    try:
        return store.resolve_article_id(ref)
    except ArticleNotFound:
        return None


def unknown_issue(store: Store, issue_id: str) -> str:
    """Why an issue id names nothing, with the ids that do name something near it."""
    shaped = _ISSUE_ID.match(issue_id)
    if shaped is None:
        return (
            f"{issue_id!r} is not an issue id; issue ids are '<article id>-<number>', such as "
            "264630-1, as match_log and search_kb give them"
        )
    article_id = _article_id(store, shaped.group(1))
    if article_id is None:
        return (
            f"no issue {issue_id}, and no article {shaped.group(1)} in this knowledge base; "
            "search_kb finds issues by words"
        )
    issues = _issues_of(store, article_id)
    if not issues:
        return f"no issue {issue_id}; article {article_id} has no issues"
    return f"no issue {issue_id}; article {article_id} has {_plural_issues(issues)}"


def _plural_issues(ids: list[str]) -> str:
    return f"issue {ids[0]}" if len(ids) == 1 else f"issues {_listing(ids)}"


def _feedback_refused(
    store: Store, exc: FeedbackRefused, body: dict[str, Any], activity: ActivityLog | None
) -> str:
    """Why a verdict was refused, said for a model: the ids to use instead."""
    if exc.field == "issue_id":
        return unknown_issue(store, body["issue_id"])
    if activity is None:
        return (
            "this server does not record match_log answers (KB_RECORD_ACTIVITY=0), so it "
            "cannot take feedback by request_id"
        )
    return (
        f"no match_log answer of the last {activity.keep_days} days has the request_id "
        f"{body['request_id']!r}; use the request_id of the answer the user judged"
    )


def build_server(config: Config | None = None, app: Flask | None = None) -> MCPServer:
    """An MCP server whose tools answer through the API of `app`.

    Without `app`, one is built from `config` with `create_app`, which builds the store and
    index on first use or repairs an index that lags the store, as `kb serve` does.
    """
    if app is None:
        app = _create_app(config)
    knowledge: KnowledgeBase = app.extensions["kb"]
    store = knowledge.store
    server = MCPServer(SERVER_NAME, version=server_version(), instructions=INSTRUCTIONS)

    def tool(annotations: ToolAnnotations) -> Callable[[_Fn], _Fn]:
        def add(fn: _Fn) -> _Fn:
            # The SDK takes __doc__ verbatim; the dedented text reads better to a model. A fact
            # the text states, {confident}, is filled in from where it is defined.
            description = (inspect.getdoc(fn) or "").replace("{confident}", str(CONFIDENT))
            server.add_tool(fn, description=description, annotations=annotations)
            return fn

        return add

    @tool(_READ_ONLY)
    def match_log(
        log: Annotated[
            str,
            Field(
                min_length=1,
                description=(
                    "The pasted log text, as is: one or many lines, any timestamps, paths or "
                    "SMS/ConfigMgr/CMTrace framing included."
                ),
            ),
        ],
        limit: Annotated[
            int,
            Field(
                description=f"How many ranked matches to return, 1 to {MATCH_LIMIT_MAX}.",
                json_schema_extra={"minimum": 1, "maximum": MATCH_LIMIT_MAX},
            ),
        ] = MATCH_LIMIT_DEFAULT,
        detail: Annotated[
            str,
            Field(
                description=(
                    "'brief' (the default): each match's confidence and why, at most three "
                    "matched lines, each fix by title with its steps' first sentences, and "
                    "the issue's page. 'full': every matched line, the causes, every step with "
                    "its warnings, related articles."
                ),
                json_schema_extra={"enum": list(MATCH_DETAILS)},
            ),
        ] = "brief",
        product: Annotated[
            str | None,
            Field(
                description=(
                    "Only issues of articles about this product, e.g. 'SMS' or 'Systems "
                    "Management Server' (its name's words, initials or a known abbreviation). "
                    "Leave it out unless the user names the product."
                ),
                json_schema_extra={"minLength": 1, "maxLength": MAX_PRODUCT_CHARS},
            ),
        ] = None,
        version: Annotated[
            str | None,
            Field(
                description=(
                    "Only issues of articles about this version, e.g. '2.0 SP2' or '2.0' (a "
                    "release stands for its service packs too). Leave it out unless the user "
                    "names the version."
                ),
                json_schema_extra={"minLength": 1, "maxLength": MAX_VERSION_CHARS},
            ),
        ] = None,
    ) -> CallToolResult:
        """Find the known issues a pasted log points to, best first.

        Call this when the user pastes log lines or error messages from a broken client (for
        example from Ccim32.log or another SMS/ConfigMgr log). Each match has the article and
        issue ids, a confidence from 0 to 1 with its certainty ('not sure' below {confident}:
        tell the user so) and a one-line reason for it, the log lines that matched, and the fix:
        in brief answers the workarounds by title with their steps' first sentences, in full
        answers the causes and every numbered step with its warnings. An empty `matches` list
        means nothing known fits; try search_kb then. The answer's `request_id` is what
        send_feedback takes. With `product` or `version`, the answer's `filters` says what
        they were taken to mean and how many matches they left out.
        """
        request = {
            "log": log,
            "limit": limit,
            "detail": detail,
            "product": product,
            "version": version,
        }
        with _refusals(request):
            # The API's bound on a request body, on the body the same request would send.
            if len(app.json.dumps(request).encode()) > knowledge.config.max_body_bytes:
                raise PasteTooLarge(f"at most {knowledge.config.max_body_bytes} bytes")
            text, options = load_paste_body(request)
            if not text.strip():
                raise ToolError("the log is empty; pass the pasted log lines as `log`")
            answer = answer_paste(
                knowledge,
                text,
                MatchOptions(**options),
                request_id=uuid.uuid4().hex,
                activity=app.extensions.get("activity"),
            )
        # In the app's context, as the records below, so `page_url` is built on KB_PUBLIC_URL.
        with app.app_context():
            return compact(dump_answer(answer))

    @tool(_READ_ONLY)
    def search_kb(
        query: Annotated[
            str,
            Field(
                min_length=1,
                description=(
                    "The problem in the user's words, e.g. 'advertisements do not reach "
                    f"clients'; at most {MAX_QUERY_CHARS} characters."
                ),
            ),
        ],
        limit: Annotated[
            int,
            Field(
                description=f"How many articles (and issues) to return, 1 to {SEARCH_LIMIT_MAX}.",
                json_schema_extra={"minimum": 1, "maximum": SEARCH_LIMIT_MAX},
            ),
        ] = SEARCH_LIMIT_DEFAULT,
    ) -> CallToolResult:
        """Search the knowledge base by words: articles, and the issues in them, best first.

        Call this when the user describes a problem in words rather than pasting a log.
        `issues` lists the known issues whose text says the most of the query, each with a
        score from 0 to 1 (the share of the query's words, rare words counting most, that its
        text has) and the words found; `results` lists the articles with a snippet. Call
        get_issue with an issue id for its causes and fix, or get_article with an article id.
        """
        arguments = {"query": query, "limit": limit}
        with _refusals(arguments):
            try:
                args = _SEARCH_ARGS.load({"q": query, "limit": limit})
            except ValidationError as exc:
                # The API names the query `q`; the tool, `query`.
                errors = [
                    {**e, "field": "query" if e["field"] == "q" else e["field"]}
                    for e in field_errors(exc.messages)
                ]
                raise ApiError(400, "invalid arguments", errors=errors) from None
        # In the app's context, so the issues' `page_url` is built on KB_PUBLIC_URL.
        with app.app_context():
            found = search_articles(
                knowledge, args["q"], limit=args["limit"], product=args["product"]
            )
        return compact(_SEARCH_OUT.dump(found))

    @tool(_READ_ONLY)
    def get_article(
        id: Annotated[
            str,
            Field(
                min_length=1,
                description="The article's KB number, e.g. '264630' ('Q264630' and 'KB264630' work too).",
            ),
        ],
    ) -> CallToolResult:
        """Read one knowledge base article in full.

        Call this to fetch the complete article behind an `article_id` seen in a match_log or
        search_kb result, or an `issue_id`'s article: products and versions, its issues, and
        every symptom, cause and workaround in full, the workarounds with their numbered steps
        and warnings, plus related articles.
        """
        ref = id.strip()
        if not _ARTICLE_REF.match(ref):
            issue = _ISSUE_ID.match(ref)
            hint = f"; for issue {ref}, call get_issue" if issue else ""
            raise ToolError(
                f"{ref!r} is not an article id. Article ids are KB numbers such as 264630 "
                f"(Q264630 and KB264630 also work){hint}."
            )
        # In the app's context, so `page_url` is built on KB_PUBLIC_URL.
        with app.app_context():
            article = article_record(store, ref)
        if article is None:
            raise ToolError(f"no article {ref} in this knowledge base; search_kb finds articles")
        return compact(_ARTICLE_OUT.dump(article))

    @tool(_READ_ONLY)
    def get_issue(
        id: Annotated[
            str,
            Field(
                min_length=1,
                description=(
                    "The issue id, '<article id>-<number>', e.g. '264630-1'. An article id "
                    "('264630') gives all of that article's issues."
                ),
            ),
        ],
    ) -> CallToolResult:
        """Read one known issue in full: what it is, why it happens and how to fix it.

        Call this for an `issue_id` seen in a match_log or search_kb result or in get_article,
        when the user wants that issue's fix. The record has the title and full description,
        the symptoms by id, the `causes` in full, and the `workarounds` with their
        preconditions, warnings and numbered steps, in the order to try them. Given an article
        id instead, the answer is `{"article_id": ..., "issues": [...]}`, each issue so.
        """
        ref = id.strip()
        # In the app's context, so `page_url` is built on KB_PUBLIC_URL.
        with app.app_context():
            issue = issue_record(store, ref, ISSUE_EXPAND)
            if issue is not None:
                return compact(_ISSUE_OUT.dump(issue))
            article_id = _article_id(store, ref) if _ARTICLE_REF.match(ref) else None
            if article_id is None:
                raise ToolError(unknown_issue(store, ref))
            issues = [issue_record(store, i, ISSUE_EXPAND) for i in _issues_of(store, article_id)]
        return compact(
            {"article_id": article_id, "issues": [_ISSUE_OUT.dump(i) for i in issues if i]}
        )

    @tool(_RECORDS)
    def send_feedback(
        request_id: Annotated[
            str,
            Field(
                min_length=1,
                description="The `request_id` of the match_log answer the verdict is about.",
                json_schema_extra={"maxLength": MAX_REQUEST_ID_CHARS},
            ),
        ],
        issue_id: Annotated[
            str,
            Field(
                min_length=1,
                description="The issue of that answer the verdict is about, e.g. '264630-1'.",
                json_schema_extra={"maxLength": MAX_ISSUE_ID_CHARS},
            ),
        ],
        helpful: Annotated[
            bool,
            Field(description="true when the issue was the user's problem, false when not."),
        ],
        comment: Annotated[
            str | None,
            Field(
                description="What the user said about it, if anything.",
                json_schema_extra={"maxLength": MAX_COMMENT_CHARS},
            ),
        ] = None,
    ) -> CallToolResult:
        """Say whether a match_log answer's issue was the user's problem.

        Call this once the user says a match helped (or did not), with the `request_id` of that
        match_log answer and the issue's id. The verdict is recorded for review: it changes no
        answer until a reviewer approves it, and only lines specific to the problem are ever
        learned from it. The answer is the verdict as recorded, `pending`.
        """
        body = {
            "request_id": request_id.strip(),
            "issue_id": issue_id.strip(),
            "helpful": helpful,
            **({"comment": comment} if comment is not None else {}),
        }
        with _refusals(body):
            loaded = _FEEDBACK_BODY.load(body)
        activity = app.extensions.get("activity")
        try:
            outcome = give_feedback(knowledge, activity, **loaded)
        except FeedbackRefused as exc:
            raise ToolError(_feedback_refused(store, exc, loaded, activity)) from None
        except TooManyPending as exc:
            raise ToolError(str(exc)) from None
        return compact(_FEEDBACK_OUT.dump(feedback_body(outcome)))

    return server


def run_stdio(config: Config | None = None) -> None:
    """Build or repair the knowledge base, then serve MCP on stdin/stdout until stdin closes."""
    # Plain lines on stderr for the client's log file. Configured first, because the SDK's own
    # setup (Rich, wrapped to a terminal's width) applies only when no handler is there yet.
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = config or Config.from_env()
    app = _create_app(config)
    knowledge = app.extensions["kb"]
    try:
        server = build_server(app=app)
        logger.info(
            "kb mcp: %d article(s) in %s, serving over stdio",
            knowledge.store.count("articles"),
            config.kb_home,
        )
        server.run("stdio")
    finally:
        knowledge.close()


def _create_app(config: Config | None) -> Flask:
    """`create_app`, building or repairing the store and index as `kb serve` does."""
    # Nothing in the build is meant to print, but a stray write to stdout would corrupt the
    # protocol stream, so anything that does goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        return create_app(config)

"""`kb mcp`: the knowledge base as Model Context Protocol tools, served over stdio.

A chatbot client starts this as a subprocess and calls four tools: match a pasted log, search
in words, and read an article or an issue. Each tool answers with exactly the JSON record the
HTTP API returns for the same request: it calls what the API's views call (the match pipeline,
the search, the records of articles and issues), checks its arguments with the same schemas,
dumps its answer with the same schema, and refuses what the API refuses with the API's message.

stdout carries the protocol and nothing else; logs go to stderr.
"""

from __future__ import annotations

import contextlib
import inspect
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
from mcp.types import ToolAnnotations
from pydantic import Field

from schemas.api import ArticleOut, IssueOut, SearchArgsSchema, SearchResponseOut
from service import ArticleRefConverter, create_app
from service.config import Config
from service.errors import BODY_TOO_LARGE, ApiError, invalid_parameters, problem_title
from service.kb import KnowledgeBase
from service.limits import (
    MATCH_LIMIT_DEFAULT,
    MATCH_LIMIT_MAX,
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
)
from service.matching import CONFIDENT, MatchOptions, PasteTooLarge, answer_paste
from service.records import article_record, issue_record
from service.search import search_articles
from service.views.common import not_found
from service.views.match import dump_answer, load_paste_body, require_paste

logger = logging.getLogger(__name__)
_Fn = TypeVar("_Fn", bound=Callable[..., Any])

SERVER_NAME = "kb-log-match"
INSTRUCTIONS = (
    "A knowledge base of known issues of Microsoft Systems Management Server clients and "
    "related products, each with causes and ordered remediation steps. When the user pastes log "
    "lines or error messages, call match_log with the paste as is. When they describe a problem "
    "in words, call search_kb. Use get_issue or get_article to read the full record behind an "
    "id seen in a result. Relay remediation steps in order, with their warnings, and give the "
    "user the page_url of a match, issue or article to read or share."
)

# The same pattern the API routes article ids with, so a malformed id gets a message about ids
# rather than the API's generic "no resource at this path".
_ARTICLE_REF = re.compile(rf"^{ArticleRefConverter.regex}$")
# Read-only lookups over a closed corpus: clients may call them without asking the user.
_READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


_SEARCH_ARGS = SearchArgsSchema()
_SEARCH_OUT = SearchResponseOut()
_ARTICLE_OUT = ArticleOut()
_ISSUE_OUT = IssueOut()
# The linked records get_issue shows in full.
ISSUE_EXPAND = "causes,workarounds"


def _problem_message(error: ApiError) -> str:
    """An API error as one line a model can act on: title, status, detail, bad fields."""
    message = f"{problem_title(error.status)} ({error.status}): {error.detail}"
    fields = [f"{e.get('field')}: {e.get('message')}" for e in error.errors]
    if fields:
        message += " [" + "; ".join(fields) + "]"
    return message


@contextlib.contextmanager
def _api_errors() -> Iterator[None]:
    """What the API answers with an error becomes a tool error with the API's message."""
    try:
        yield
    except ApiError as exc:
        raise ToolError(_problem_message(exc)) from None
    except ValidationError as exc:
        raise ToolError(_problem_message(invalid_parameters(exc))) from None
    except PasteTooLarge as exc:
        too_large = ApiError(413, f"The paste is too large: {exc}.")
        raise ToolError(_problem_message(too_large)) from None


def build_server(config: Config | None = None, app: Flask | None = None) -> MCPServer:
    """An MCP server whose tools answer through the API of `app`.

    Without `app`, one is built from `config` with `create_app`, which builds the store and
    index on first use or repairs an index that lags the store, as `kb serve` does.
    """
    if app is None:
        app = _create_app(config)
    knowledge: KnowledgeBase = app.extensions["kb"]
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS)

    def tool(fn: _Fn) -> _Fn:
        # The SDK takes __doc__ verbatim; the dedented text reads better to a model. A fact the
        # text states, {confident}, is filled in from where it is defined.
        description = (inspect.getdoc(fn) or "").replace("{confident}", str(CONFIDENT))
        server.add_tool(fn, description=description, annotations=_READ_ONLY)
        return fn

    @tool
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
            int, Field(description=f"How many ranked matches to return, 1 to {MATCH_LIMIT_MAX}.")
        ] = MATCH_LIMIT_DEFAULT,
    ) -> dict[str, Any]:
        """Find the known issues a pasted log points to, best first.

        Call this when the user pastes log lines or error messages from a broken client (for
        example from Ccim32.log or another SMS/ConfigMgr log). Each match has the article and
        issue ids, a confidence from 0 to 1 (below {confident} means not sure), the log lines that
        matched, the causes, and the remediation: workarounds with numbered steps and their
        warnings. An empty `matches` list means nothing known fits; try search_kb then.
        """
        request = {"log": log, "limit": limit}
        with _api_errors():
            # The API's bound on a request body, on the body the same request would send.
            if len(app.json.dumps(request).encode()) > knowledge.config.max_body_bytes:
                raise ApiError(413, BODY_TOO_LARGE)
            text, options = load_paste_body(request)
            require_paste(text)
            answer = answer_paste(
                knowledge,
                text,
                MatchOptions(**options),
                request_id=uuid.uuid4().hex,
                activity=app.extensions.get("activity"),
            )
        # In the app's context, as the records below, so `page_url` is built on KB_PUBLIC_URL.
        with app.app_context():
            return dump_answer(answer)

    @tool
    def search_kb(
        query: Annotated[
            str,
            Field(
                min_length=1,
                description="The problem in the user's words, e.g. 'advertisements do not reach clients'.",
            ),
        ],
        limit: Annotated[
            int, Field(description=f"How many articles to return, 1 to {SEARCH_LIMIT_MAX}.")
        ] = SEARCH_LIMIT_DEFAULT,
    ) -> dict[str, Any]:
        """Search the knowledge base articles by words, best first.

        Call this when the user describes a problem in words rather than pasting a log. Results
        carry the article id, title, a snippet and a score; call get_article with an id to read
        the article's issues, causes and remediation.
        """
        with _api_errors():
            args = _SEARCH_ARGS.load({"q": query, "limit": limit})
        found = search_articles(knowledge, args["q"], limit=args["limit"], product=args["product"])
        return _SEARCH_OUT.dump(found)

    @tool
    def get_article(
        id: Annotated[
            str,
            Field(
                min_length=1,
                description="The article's KB number, e.g. '264630' ('Q264630' and 'KB264630' work too).",
            ),
        ],
    ) -> dict[str, Any]:
        """Read one knowledge base article in full.

        Call this to fetch the complete article behind an `article_id` seen in a match_log or
        search_kb result, or an `issue_id`'s article: products and versions, its issues, and
        every symptom, cause and workaround in full, the workarounds with their numbered steps
        and warnings, plus related articles.
        """
        if not _ARTICLE_REF.match(id):
            raise ToolError(
                f"{id!r} is not an article id. Article ids are KB numbers such as 264630 "
                "(Q264630 and KB264630 also work)."
            )
        # In the app's context, so `page_url` is built on KB_PUBLIC_URL.
        with app.app_context():
            article = article_record(knowledge.store, id)
        if article is None:
            raise ToolError(_problem_message(not_found("article", id)))
        return _ARTICLE_OUT.dump(article)

    @tool
    def get_issue(
        id: Annotated[
            str,
            Field(
                min_length=1,
                description="The issue id, '<article id>-<number>', e.g. '264630-1'.",
            ),
        ],
    ) -> dict[str, Any]:
        """Read one known issue in full: what it is, why it happens and how to fix it.

        Call this for an `issue_id` seen in a match_log result, a search_kb hit's article or
        get_article, when the user wants that issue's fix. The record has the title and full
        description, the symptoms by id, the `causes` in full, and the `workarounds` with their
        preconditions, warnings and numbered steps, in the order to try them.
        """
        with app.app_context():
            issue = issue_record(knowledge.store, id, ISSUE_EXPAND)
        if issue is None:
            raise ToolError(_problem_message(not_found("issue", id)))
        return _ISSUE_OUT.dump(issue)

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

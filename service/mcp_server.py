"""`kb mcp`: the knowledge base as Model Context Protocol tools, served over stdio.

A chatbot client starts this as a subprocess and calls four tools: match a pasted log, search
in words, and read an article or an issue. Each tool answers with exactly the JSON record the
HTTP API returns for the same request, because it is that request: the Flask app is built once
and called in-process through its test client. Schemas, links, limits and error messages then
stay those of `/v1`, with no second copy to drift from the contract.

stdout carries the protocol and nothing else; logs go to stderr.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from flask import Flask
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field
from werkzeug.test import TestResponse

from service import ArticleRefConverter, create_app
from service.config import Config

logger = logging.getLogger(__name__)
_Fn = TypeVar("_Fn", bound=Callable[..., Any])

SERVER_NAME = "kb-log-match"
INSTRUCTIONS = (
    "A knowledge base of known issues of Microsoft Systems Management Server clients and "
    "related products, each with causes and ordered remediation steps. When the user pastes log "
    "lines or error messages, call match_log with the paste as is. When they describe a problem "
    "in words, call search_kb. Use get_issue or get_article to read the full record behind an "
    "id seen in a result. Relay remediation steps in order, with their warnings."
)

# The same pattern the API routes article ids with, so a malformed id gets a message about ids
# rather than the API's generic "no resource at this path".
_ARTICLE_REF = re.compile(rf"^{ArticleRefConverter.regex}$")
# Read-only lookups over a closed corpus: clients may call them without asking the user.
_READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def _problem_message(response: TestResponse) -> str:
    """A problem+json answer as one line a model can act on: title, detail, bad fields."""
    body = response.get_json(silent=True)
    if not isinstance(body, dict):
        return f"The knowledge base answered HTTP {response.status_code}."
    message = f"{body.get('title', 'Error')} ({response.status_code}): {body.get('detail', '')}"
    fields = [f"{e.get('field')}: {e.get('message')}" for e in body.get("errors") or []]
    if fields:
        message += " [" + "; ".join(fields) + "]"
    return message


def _call(app: Flask, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One API request, in-process; the JSON record of a 2xx, a tool error for anything else."""
    # JSON asked for explicitly: some routes also render Markdown or text when Accept says so.
    headers = {"Accept": "application/json"}
    with app.test_client() as client:
        response = client.open(path, method=method, headers=headers, **kwargs)
    if response.status_code >= 300:
        raise ToolError(_problem_message(response))
    return response.get_json()


def build_server(config: Config | None = None, app: Flask | None = None) -> MCPServer:
    """An MCP server whose tools answer through the API of `app`.

    Without `app`, one is built from `config` with `create_app`, which builds the store and
    index on first use or repairs an index that lags the store, as `kb serve` does.
    """
    if app is None:
        app = _create_app(config)
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS)

    def tool(fn: _Fn) -> _Fn:
        # The SDK takes __doc__ verbatim; the dedented text reads better to a model.
        server.add_tool(fn, description=inspect.getdoc(fn), annotations=_READ_ONLY)
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
        limit: Annotated[int, Field(description="How many ranked matches to return, 1 to 50.")] = 5,
    ) -> dict[str, Any]:
        """Find the known issues a pasted log points to, best first.

        Call this when the user pastes log lines or error messages from a broken client (for
        example from Ccim32.log or another SMS/ConfigMgr log). Each match has the article and
        issue ids, a confidence from 0 to 1 (below 0.5 means not sure), the log lines that
        matched, the causes, and the remediation: workarounds with numbered steps and their
        warnings. An empty `matches` list means nothing known fits; try search_kb then.
        """
        return _call(app, "POST", "/v1/match", json={"log": log, "limit": limit})

    @tool
    def search_kb(
        query: Annotated[
            str,
            Field(
                min_length=1,
                description="The problem in the user's words, e.g. 'advertisements do not reach clients'.",
            ),
        ],
        limit: Annotated[int, Field(description="How many articles to return, 1 to 50.")] = 10,
    ) -> dict[str, Any]:
        """Search the knowledge base articles by words, best first.

        Call this when the user describes a problem in words rather than pasting a log. Results
        carry the article id, title, a snippet and a score; call get_article with an id to read
        the article's issues, causes and remediation.
        """
        return _call(app, "GET", "/v1/search", query_string={"q": query, "limit": limit})

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
        return _call(app, "GET", f"/v1/articles/{quote(id, safe='')}")

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
        return _call(
            app,
            "GET",
            f"/v1/issues/{quote(id, safe='')}",
            query_string={"expand": "causes,workarounds"},
        )

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

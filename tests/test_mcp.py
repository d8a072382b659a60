"""`kb mcp` as a chatbot client sees it: a subprocess speaking MCP over stdio, driven by the SDK.

One server is started for the module and one conversation held with it; the tests then check
what each step returned. Records must equal the HTTP API's answers for the same requests.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import yaml
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, Tool

from service.config import PROJECT_ROOT
from tests.helpers import make_config, running_app

SEED = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
ISSUE1_PASTE = "\n".join(
    s["text"] for s in SEED["symptoms"] if s["issue_id"] == "264630-1" and s["kind"] == "log_line"
)
TOOLS = {"match_log", "search_kb", "get_article", "get_issue"}
# Where people read the pages: the tool server has no request to take an address from.
PUBLIC_URL = "https://kb.example.com"
# (tool, arguments) for every call of the conversation, keyed by what each call is for
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "match": ("match_log", {"log": ISSUE1_PASTE, "limit": 3}),
    "issue": ("get_issue", {"id": "264630-1"}),
    "article": ("get_article", {"id": "KB264630"}),
    "search": ("search_kb", {"query": "advertisements do not reach clients", "limit": 5}),
    "unknown_article": ("get_article", {"id": "999999"}),
    "malformed_article": ("get_article", {"id": "not an id"}),
    "unknown_issue": ("get_issue", {"id": "264630-9"}),
    "bad_limit": ("match_log", {"log": ISSUE1_PASTE, "limit": 0}),
}
# the same requests through the Flask test client, for the calls that succeed
API_REQUESTS = {
    "match": ("POST", "/v1/match", {"json": {"log": ISSUE1_PASTE, "limit": 3}}),
    "issue": (
        "GET",
        "/v1/issues/264630-1",
        {"query_string": {"expand": "causes,workarounds"}},
    ),
    "article": ("GET", "/v1/articles/KB264630", {}),
    "search": (
        "GET",
        "/v1/search",
        {"query_string": {"q": "advertisements do not reach clients", "limit": 5}},
    ),
}


@dataclass
class Conversation:
    server_name: str
    tools: dict[str, Tool]
    results: dict[str, CallToolResult]
    api: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""


async def talk(params: StdioServerParameters, errlog: Any) -> Conversation:
    """Initialise, list the tools and make every call in CALLS, as a chatbot client would."""
    # Bounded, so a server that never answers fails the test instead of hanging it.
    with anyio.fail_after(60):
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            initialized = await session.initialize()
            listed = await session.list_tools()
            results = {
                key: await session.call_tool(tool, arguments)
                for key, (tool, arguments) in CALLS.items()
            }
    return Conversation(
        server_name=initialized.server_info.name,
        tools={t.name: t for t in listed.tools},
        results=results,
    )


@pytest.fixture(scope="module")
def conversation(tmp_path_factory: pytest.TempPathFactory) -> Conversation:
    root = tmp_path_factory.mktemp("mcp")
    config = make_config(root, public_url=PUBLIC_URL)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "service.cli", "mcp"],
        env={
            "KB_HOME": str(config.kb_home),
            "KB_DATA": str(config.kb_data),
            "KB_PUBLIC_URL": PUBLIC_URL,
        },
        cwd=PROJECT_ROOT,
    )
    stderr_path = root / "mcp.stderr"
    with stderr_path.open("w") as errlog:
        try:
            result = anyio.run(talk, params, errlog)
        except BaseException as exc:
            raise AssertionError(f"kb mcp failed: {stderr_path.read_text()}") from exc
    result.stderr = stderr_path.read_text()
    # The API's answers from the knowledge base the server built, so every field can match.
    with running_app(config) as app:
        client = app.test_client()
        for key, (method, path, kwargs) in API_REQUESTS.items():
            response = client.open(path, method=method, **kwargs)
            assert response.status_code == 200, (key, response.get_json())
            result.api[key] = response.get_json()
    return result


def record(result: CallToolResult) -> dict[str, Any]:
    """The record a tool returned, checked to be the same as structured and as text content."""
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(block.text for block in result.content)


def test_the_server_lists_the_four_tools_with_descriptions_and_inputs(
    conversation: Conversation,
) -> None:
    assert conversation.server_name == "kb-log-match"
    assert set(conversation.tools) == TOOLS
    for tool in conversation.tools.values():
        assert len(tool.description) > 100, tool.name
        assert "Call this" in tool.description, tool.name
        assert tool.annotations is not None and tool.annotations.read_only_hint
        properties = tool.input_schema["properties"]
        assert properties, tool.name
        for name, schema in properties.items():
            assert schema.get("description"), (tool.name, name)
    match_inputs = conversation.tools["match_log"].input_schema
    assert match_inputs["required"] == ["log"]
    assert match_inputs["properties"]["limit"]["default"] == 5
    assert conversation.tools["search_kb"].input_schema["required"] == ["query"]
    assert conversation.tools["get_article"].input_schema["required"] == ["id"]
    assert conversation.tools["get_issue"].input_schema["required"] == ["id"]


def test_match_log_ranks_issue_1_first_with_its_remediation(conversation: Conversation) -> None:
    body = record(conversation.results["match"])
    top = body["matches"][0]
    assert (top["article_id"], top["issue_id"]) == ("264630", "264630-1")
    assert top["confidence"] >= 0.5
    assert top["matched_lines"]
    steps = [step for workaround in top["remediation"] for step in workaround["steps"]]
    assert steps and all(step["text"] for step in steps)
    assert top["remediation"][0]["id"].startswith("264630-w")
    # A link a person can open, at the address the server is configured to be reached at.
    assert top["page_url"] == f"{PUBLIC_URL}/issues/264630-1"


def test_get_issue_gives_the_issue_with_its_causes_and_remediation(
    conversation: Conversation,
) -> None:
    body = record(conversation.results["issue"])
    assert body["id"] == "264630-1"
    assert {c["missing_update"] for c in body["causes"]} >= {"251070", "249077"}
    steps = [s["text"] for w in body["workarounds"] for s in w["steps"]]
    assert any("Copylog.tcf" in text for text in steps)
    assert body["page_url"] == f"{PUBLIC_URL}/issues/264630-1"


# Fields that differ between any two requests by design: a match's request id names that one
# request (feedback refers to it), so only its presence is compared.
PER_REQUEST = ("request_id",)


def same_apart_from_request(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v is not None) if k in PER_REQUEST else v for k, v in record.items()}


@pytest.mark.parametrize("key", sorted(API_REQUESTS))
def test_tools_return_the_records_the_api_returns(conversation: Conversation, key: str) -> None:
    got = same_apart_from_request(record(conversation.results[key]))
    assert got == same_apart_from_request(conversation.api[key])


def test_search_kb_finds_the_seed_article(conversation: Conversation) -> None:
    body = record(conversation.results["search"])
    assert body["results"][0]["article_id"] == "264630"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("unknown_article", ["Not found (404)", "'999999'"]),
        ("malformed_article", ["'not an id' is not an article id", "264630"]),
        ("unknown_issue", ["Not found (404)", "'264630-9'"]),
        ("bad_limit", ["(422)", "limit"]),
    ],
)
def test_api_errors_become_tool_errors_that_say_what_was_wrong(
    conversation: Conversation, key: str, expected: list[str]
) -> None:
    text = error_text(conversation.results[key])
    for part in expected:
        assert part in text
    assert "Traceback" not in text


def test_the_server_logs_to_stderr_only(conversation: Conversation) -> None:
    # Any stray stdout line would have broken the conversation; stderr carries the logs.
    assert "serving over stdio" in conversation.stderr

"""`kb mcp` as a chatbot client sees it: a subprocess speaking MCP over stdio, driven by the SDK.

One server is started for the module and one conversation held with it; the tests then check
what each step returned. Records must equal the HTTP API's answers for the same requests.
"""

from __future__ import annotations

import importlib.metadata
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
from service.limits import (
    MATCH_LIMIT_MAX,
    MAX_PRODUCT_CHARS,
    MAX_VERSION_CHARS,
    SEARCH_LIMIT_MAX,
)
from tests.helpers import make_config, running_app
from tests.test_serve import SEED_LINES

SEED = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
ISSUE1_PASTE = "\n".join(
    s["text"] for s in SEED["symptoms"] if s["issue_id"] == "264630-1" and s["kind"] == "log_line"
)
TOOLS = {"match_log", "search_kb", "get_article", "get_issue", "send_feedback"}
# Where people read the pages: the tool server has no request to take an address from.
PUBLIC_URL = "https://kb.example.com"
# (tool, arguments) for every call of the conversation, keyed by what each call is for
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "match": ("match_log", {"log": ISSUE1_PASTE, "limit": 3}),
    "match_full": ("match_log", {"log": ISSUE1_PASTE, "limit": 3, "detail": "full"}),
    "match_seed_lines": ("match_log", {"log": SEED_LINES}),
    "issue": ("get_issue", {"id": "264630-1"}),
    "issue_padded": ("get_issue", {"id": "  264630-1\n"}),
    "issues_of_article": ("get_issue", {"id": " KB264630 "}),
    "article": ("get_article", {"id": "KB264630"}),
    "search": ("search_kb", {"query": "advertisements do not reach clients", "limit": 5}),
    "unknown_article": ("get_article", {"id": "999999"}),
    "malformed_article": ("get_article", {"id": "not an id"}),
    "issue_as_article": ("get_article", {"id": "264630-1"}),
    "unknown_issue": ("get_issue", {"id": "264630-9"}),
    "issue_of_unknown_article": ("get_issue", {"id": "999999-1"}),
    "malformed_issue": ("get_issue", {"id": "the first one"}),
    "bad_limit": ("match_log", {"log": ISSUE1_PASTE, "limit": 0}),
    "bad_detail": ("match_log", {"log": ISSUE1_PASTE, "detail": "short"}),
    "match_other_version": (
        "match_log",
        {"log": ISSUE1_PASTE, "product": "SMS", "version": "3.0"},
    ),
    "bad_product": ("match_log", {"log": ISSUE1_PASTE, "product": "S" * (MAX_PRODUCT_CHARS + 1)}),
    "blank_log": ("match_log", {"log": "  \n "}),
    "bad_search_limit": ("search_kb", {"query": "copylog", "limit": SEARCH_LIMIT_MAX + 1}),
    "feedback_unknown_request": (
        "send_feedback",
        {"request_id": "0" * 32, "issue_id": "264630-1", "helpful": True},
    ),
}
# Calls that name an earlier answer: (tool, arguments, the call whose request_id they send).
FEEDBACK_CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "feedback": (
        "send_feedback",
        {"issue_id": " 264630-1 ", "helpful": True, "comment": "Editing Copylog.tcf fixed it."},
        "match",
    ),
    "feedback_unknown_issue": (
        "send_feedback",
        {"issue_id": "264630-9", "helpful": False},
        "match",
    ),
}
# the same requests through the Flask test client, for the calls that succeed
API_REQUESTS = {
    "match": (
        "POST",
        "/v1/match",
        {"json": {"log": ISSUE1_PASTE, "limit": 3}, "query_string": {"detail": "brief"}},
    ),
    "match_full": ("POST", "/v1/match", {"json": {"log": ISSUE1_PASTE, "limit": 3}}),
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
    server_version: str
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
            for key, (tool, arguments, answer) in FEEDBACK_CALLS.items():
                request_id = record(results[answer])["request_id"]
                arguments = {**arguments, "request_id": request_id}
                results[key] = await session.call_tool(tool, arguments)
    return Conversation(
        server_name=initialized.server_info.name,
        server_version=initialized.server_info.version,
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
    with running_app(config, api_tokens=[TOKEN]) as app:
        client = app.test_client()
        for key, (method, path, kwargs) in API_REQUESTS.items():
            response = client.open(path, method=method, **kwargs)
            assert response.status_code == 200, (key, response.get_json())
            result.api[key] = response.get_json()
        pending = client.get("/v1/feedback/pending", headers={"Authorization": f"Bearer {TOKEN}"})
        result.api["pending"] = pending.get_json()
    return result


TOKEN = "mcp-test-reviewer"


def record(result: CallToolResult) -> dict[str, Any]:
    """The record a tool returned: one text block of compact JSON, sent once (no structured
    copy of the same record)."""
    assert not result.is_error, result.content
    assert result.structured_content is None
    assert len(result.content) == 1
    text = result.content[0].text
    body = json.loads(text)
    assert text == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return body


def tokens(result: CallToolResult) -> int:
    """A result's size in tokens, counted high: one token per 3 characters of its text (JSON,
    dense in punctuation, averages 3 to 4 characters a token with common tokenizers)."""
    return -(-sum(len(block.text) for block in result.content) // 3)


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(block.text for block in result.content)


def test_the_server_lists_the_five_tools_with_descriptions_and_inputs(
    conversation: Conversation,
) -> None:
    assert conversation.server_name == "kb-log-match"
    assert conversation.server_version == importlib.metadata.version("kb-service")
    assert set(conversation.tools) == TOOLS
    for tool in conversation.tools.values():
        assert len(tool.description) > 100, tool.name
        assert "Call this" in tool.description, tool.name
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint == (tool.name != "send_feedback"), tool.name
        assert not tool.annotations.destructive_hint, tool.name
        properties = tool.input_schema["properties"]
        assert properties, tool.name
        for name, schema in properties.items():
            assert schema.get("description"), (tool.name, name)
    assert conversation.tools["search_kb"].input_schema["required"] == ["query"]
    assert conversation.tools["get_article"].input_schema["required"] == ["id"]
    assert conversation.tools["get_issue"].input_schema["required"] == ["id"]


def test_the_input_schemas_state_the_bounds_and_choices_the_server_holds_to(
    conversation: Conversation,
) -> None:
    match_inputs = conversation.tools["match_log"].input_schema
    assert match_inputs["required"] == ["log"]
    limit = match_inputs["properties"]["limit"]
    assert (limit["default"], limit["minimum"], limit["maximum"]) == (5, 1, MATCH_LIMIT_MAX)
    detail = match_inputs["properties"]["detail"]
    assert (detail["default"], sorted(detail["enum"])) == ("brief", ["brief", "full"])
    for name, most in (("product", MAX_PRODUCT_CHARS), ("version", MAX_VERSION_CHARS)):
        assert match_inputs["properties"][name]["maxLength"] == most
    search_limit = conversation.tools["search_kb"].input_schema["properties"]["limit"]
    assert (search_limit["minimum"], search_limit["maximum"]) == (1, SEARCH_LIMIT_MAX)
    feedback = conversation.tools["send_feedback"].input_schema
    assert sorted(feedback["required"]) == ["helpful", "issue_id", "request_id"]
    assert feedback["properties"]["comment"]["maxLength"] == 2000


def test_match_log_answers_briefly_by_default(conversation: Conversation) -> None:
    body = record(conversation.results["match"])
    assert body["detail"] == "brief"
    top = body["matches"][0]
    assert (top["article_id"], top["issue_id"]) == ("264630", "264630-1")
    assert (top["certainty"], top["page_url"]) == ("sure", f"{PUBLIC_URL}/issues/264630-1")
    assert top["confidence_reason"].startswith("35 lines matched")
    assert len(top["matched_lines"]) == 3
    assert "remediation" not in top and "causes" not in top
    titles = [fix["title"] for fix in top["fixes"]]
    assert "Remotely edit Copylog.tcf on the PDC to point Clicore.exe at the SP2 site" in titles


def test_match_log_gives_the_full_remediation_when_asked(conversation: Conversation) -> None:
    body = record(conversation.results["match_full"])
    top = body["matches"][0]
    assert (top["issue_id"], top["certainty"]) == ("264630-1", "sure")
    assert top["confidence"] >= 0.5
    assert len(top["matched_lines"]) == len(ISSUE1_PASTE.splitlines())
    steps = [step for workaround in top["remediation"] for step in workaround["steps"]]
    assert steps and all(step["text"] for step in steps)
    assert top["remediation"][0]["id"].startswith("264630-w")
    # A link a person can open, at the address the server is configured to be reached at.
    assert top["page_url"] == f"{PUBLIC_URL}/issues/264630-1"


def test_match_log_takes_the_product_and_version_filters(conversation: Conversation) -> None:
    body = record(conversation.results["match_other_version"])
    # No SMS article names version 3.0: the seed's issues are left out, and the answer says so.
    assert body["matches"] == []
    assert body["filters"]["hidden_by"] == ["version"]
    assert body["filters"]["hidden_matches"] >= 1
    assert "leave out version" in body["hint"]


@pytest.mark.parametrize("key", ["match", "match_seed_lines"])
def test_a_brief_match_of_a_seed_paste_fits_in_1500_tokens(
    conversation: Conversation, key: str
) -> None:
    assert record(conversation.results[key])["matches"]
    assert tokens(conversation.results[key]) <= 1500


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


def test_search_kb_finds_the_seed_article_and_its_issues_with_scores(
    conversation: Conversation,
) -> None:
    body = record(conversation.results["search"])
    assert body["results"][0]["article_id"] == "264630"
    issues = body["issues"]
    assert issues[0]["issue_id"] == "264630-2"
    assert issues[0]["page_url"] == f"{PUBLIC_URL}/issues/264630-2"
    # Scores say how much of the query each issue says: the one naming it all, in full.
    assert [i["score"] for i in issues] == sorted((i["score"] for i in issues), reverse=True)
    assert issues[0]["score"] == 1.0 > issues[-1]["score"] > 0
    # The words as the query wrote them, not their stems ("advertis").
    assert issues[0]["matched_words"] == ["advertisements", "reach", "clients"]


def test_get_issue_trims_the_id(conversation: Conversation) -> None:
    assert record(conversation.results["issue_padded"]) == record(conversation.results["issue"])


def test_get_issue_with_an_article_id_gives_the_articles_issues(
    conversation: Conversation,
) -> None:
    body = record(conversation.results["issues_of_article"])
    assert body["article_id"] == "264630"
    assert [issue["id"] for issue in body["issues"]] == ["264630-1", "264630-2"]
    assert body["issues"][0] == record(conversation.results["issue"])


def test_send_feedback_records_a_verdict_for_review(conversation: Conversation) -> None:
    body = record(conversation.results["feedback"])
    verdict = body["feedback"]
    assert (verdict["issue_id"], verdict["helpful"], verdict["status"]) == (
        "264630-1",
        True,
        "pending",
    )
    assert verdict["request_id"] == record(conversation.results["match"])["request_id"]
    # Recorded, not learned: a reviewer decides, as for a verdict sent over HTTP.
    assert body["learned_symptoms"] == []
    waiting = conversation.api["pending"]["items"]
    assert [(item["id"], item["comment"]) for item in waiting] == [
        (verdict["id"], "Editing Copylog.tcf fixed it.")
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("unknown_article", "no article 999999 in this knowledge base; search_kb finds articles"),
        ("malformed_article", "'not an id' is not an article id"),
        ("issue_as_article", "for issue 264630-1, call get_issue"),
        ("unknown_issue", "no issue 264630-9; article 264630 has issues 264630-1 and 264630-2"),
        ("issue_of_unknown_article", "no issue 999999-1, and no article 999999"),
        ("malformed_issue", "'the first one' is not an issue id; issue ids are"),
        ("bad_limit", "limit: must be greater than or equal to 1 and less than or equal to 50"),
        ("bad_detail", "detail: must be one of: full, brief (got 'short')"),
        ("bad_product", f"product: length must be between 1 and {MAX_PRODUCT_CHARS}"),
        ("blank_log", "the log is empty; pass the pasted log lines as `log`"),
        ("bad_search_limit", "limit: must be greater than or equal to 1 and less than"),
        ("feedback_unknown_request", "no match_log answer of the last 7 days has the "),
        ("feedback_unknown_issue", "no issue 264630-9; article 264630 has issues"),
    ],
)
def test_refusals_are_tool_errors_phrased_for_a_model(
    conversation: Conversation, key: str, expected: str
) -> None:
    text = error_text(conversation.results[key])
    assert expected in text
    # Said as what to do next, not as an HTTP exchange.
    for http in ("Traceback", "(404)", "(422)", "/v1/", "Not found"):
        assert http not in text


def test_the_server_logs_to_stderr_only(conversation: Conversation) -> None:
    # Any stray stdout line would have broken the conversation; stderr carries the logs.
    assert "serving over stdio" in conversation.stderr

"""A Python client generated from openapi.yaml works: openapi-python-client builds one from the
committed contract, and every `/v1` operation and the health endpoints, called through it
against `kb serve`, answer models of the declared types, not dicts or nothing."""

from __future__ import annotations

import importlib
import inspect
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml

from service.config import PROJECT_ROOT
from tests.helpers import kb_serve, make_config
from tests.test_feedback import PASTE
from tests.test_importer import PLAIN_ARTICLE
from tests.test_writes import ARTICLE as WRITTEN_ARTICLE
from tests.test_writes import LINE as WRITTEN_LINE

TOKEN = "generated-client-token"
GENERATOR_CONFIG = PROJECT_ROOT / "openapi-python-client.yaml"
PACKAGE = "kb_client"
# An article the served knowledge base holds besides the seed, so a paste can show three issues.
THIRD_ARTICLE = {
    "id": "900300",
    "title": "Status message writer gives up on a full outbox",
    "issues": [{"id": "900300-1", "number": 1, "title": "Status messages are lost"}],
    "symptoms": [
        {
            "id": "900300-1-s01",
            "issue_id": "900300-1",
            "kind": "log_line",
            "text": "Status message writer could not queue message 10021: outbox quota reached",
        }
    ],
}
# A line of 264630 issue 1, one of 900001 issue 1 and one of 900300 issue 1.
THREE_ISSUES = (
    "Trying to open IPC connection with APM...  CCIM32\n"
    "Inventory Agent failed to write the cache file, error 0x80070005\n"
    "Status message writer could not queue message 10021: outbox quota reached\n"
)
SEED_LINE = "Trying to open IPC connection with APM...  CCIM32"


@dataclass
class Generated:
    """The generated package, imported, and what the generator printed while making it."""

    package: ModuleType
    output: str

    def module(self, name: str) -> Any:
        """A module of the package by its dotted name under it (`api.match.match_log`)."""
        return importlib.import_module(f"{PACKAGE}.{name}")

    def model(self, name: str) -> type:
        """A model class by its name (`Article`)."""
        return getattr(self.module("models"), name)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    root = tmp_path_factory.mktemp("client")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(PROJECT_ROOT / "openapi.yaml"),
            "--config",
            str(GENERATOR_CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    output = result.stdout + result.stderr
    # A missing generator is a failure here, not a skip: `make test` installs it.
    assert result.returncode == 0, output
    sys.path.insert(0, str(root))
    try:
        yield Generated(importlib.import_module(PACKAGE), output)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kb serve` with writes on, over a knowledge base of its own: its base URL."""
    root = tmp_path_factory.mktemp("served")
    config = make_config(root)
    (config.kb_data / "900300.yaml").write_text(yaml.safe_dump(THIRD_ARTICLE), encoding="utf-8")
    # Answers must not depend on how busy the machine running the tests is.
    with kb_serve(config, root, KB_API_TOKENS=TOKEN, KB_MATCH_BUDGET_MS="0") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture()
def sent() -> list[httpx.Request]:
    """The requests the clients below send, as they went out."""
    return []


@pytest.fixture()
def client(generated: Generated, server: str, sent: list[httpx.Request]) -> Any:
    """A generated client without credentials that raises on any status the contract omits."""
    return generated.package.Client(
        base_url=server,
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(30.0),
        httpx_args={"event_hooks": {"request": [sent.append]}},
    )


@pytest.fixture()
def writer(generated: Generated, server: str, sent: list[httpx.Request]) -> Any:
    """A generated client sending the server's token."""
    return generated.package.AuthenticatedClient(
        base_url=server,
        token=TOKEN,
        raise_on_unexpected_status=True,
        timeout=httpx.Timeout(30.0),
        httpx_args={"event_hooks": {"request": [sent.append]}},
    )


def call(generated: Generated, operation: str, **arguments: Any) -> Any:
    """Call a generated operation (`match.match_log`); its full response, status and all."""
    return generated.module(f"api.{operation}").sync_detailed(**arguments)


def parsed(response: Any, status: int, model: type) -> Any:
    """The answer's model, after checking its status and that it was parsed into `model`."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model), type(response.parsed)
    return response.parsed


def test_the_generator_leaves_out_nothing_a_client_calls(generated: Generated) -> None:
    warned = re.findall(r"^WARNING parsing (\w+) (\S+)", generated.output, re.MULTILINE)
    # The one warning: the generator cannot parse YAML, so `getOpenapiYaml` hands back the
    # raw answer rather than the document parsed. Every operation itself is generated.
    assert warned == [("GET", "/openapi.yaml")], generated.output
    assert "will not be generated" not in generated.output


@pytest.mark.parametrize("operation", ["articles.import_article", "match.match_log"])
def test_raw_text_bodies_are_taken_as_bytes(generated: Generated, operation: str) -> None:
    function = generated.module(f"api.{operation}").sync_detailed
    taken = str(inspect.signature(function).parameters["body"].annotation)
    assert "File" in taken
    assert "str" not in taken


def test_health_and_readiness_are_typed(generated: Generated, client: Any) -> None:
    health = parsed(
        call(generated, "health.get_health", client=client), 200, generated.model("Health")
    )
    assert health.status.value == "ok"
    ready = parsed(
        call(generated, "health.get_readiness", client=client), 200, generated.model("Ready")
    )
    assert ready.status.value == "ready"
    metrics = call(generated, "health.get_metrics", client=client)
    assert metrics.status_code == 200
    assert b"kb_http_requests_total" in metrics.content


@pytest.mark.parametrize(
    ("operation", "page", "item"),
    [
        ("articles.list_articles", "ArticlePage", "ArticleSummary"),
        ("records.list_issues", "IssuePage", "Issue"),
        ("records.list_symptoms", "SymptomPage", "Symptom"),
        ("records.list_causes", "CausePage", "Cause"),
        ("records.list_workarounds", "WorkaroundPage", "Workaround"),
    ],
)
def test_list_pages_hold_typed_records_and_follow_their_cursor(
    generated: Generated, client: Any, operation: str, page: str, item: str
) -> None:
    first = parsed(call(generated, operation, client=client, limit=1), 200, generated.model(page))
    assert len(first.items) == 1
    assert isinstance(first.items[0], generated.model(item))
    assert isinstance(first.next_cursor, str)
    rest = parsed(
        call(generated, operation, client=client, limit=50, cursor=first.next_cursor),
        200,
        generated.model(page),
    )
    assert rest.items
    assert all(isinstance(record, generated.model(item)) for record in rest.items)
    assert first.items[0].id not in {record.id for record in rest.items}


def test_an_article_comes_whole_with_its_records_typed(generated: Generated, client: Any) -> None:
    model = generated.model
    article = parsed(
        call(generated, "articles.get_article", client=client, article_ref="Q264630"),
        200,
        model("Article"),
    )
    assert article.id == "264630"
    for field, name in [
        ("issues", "Issue"),
        ("symptoms", "Symptom"),
        ("causes", "Cause"),
        ("workarounds", "Workaround"),
        ("sections", "Section"),
        ("applies_to", "Product"),
    ]:
        records = getattr(article, field)
        assert records, field
        assert all(isinstance(record, model(name)) for record in records), field
    steps = [step for workaround in article.workarounds for step in workaround.steps]
    assert steps
    assert all(isinstance(step, model("Step")) for step in steps)
    assert all(isinstance(step.text, str) and step.number >= 1 for step in steps)

    missing = call(generated, "articles.get_article", client=client, article_ref="1")
    assert parsed(missing, 404, model("Problem")).status == 404


def test_records_come_one_by_one_typed(generated: Generated, client: Any) -> None:
    model = generated.model
    issue = parsed(
        call(
            generated,
            "records.get_issue",
            client=client,
            issue_id="264630-1",
            expand="symptoms,causes,workarounds",
        ),
        200,
        model("Issue"),
    )
    assert all(isinstance(record, model("Symptom")) for record in issue.symptoms)
    assert all(isinstance(record, model("Cause")) for record in issue.causes)
    assert all(isinstance(record, model("Workaround")) for record in issue.workarounds)
    for operation, name, record_id in [
        ("records.get_symptom", "Symptom", issue.symptom_ids[0]),
        ("records.get_cause", "Cause", issue.cause_ids[0]),
        ("records.get_workaround", "Workaround", issue.workaround_ids[0]),
    ]:
        argument = f"{name.lower()}_id"
        record = parsed(
            call(generated, operation, client=client, **{argument: record_id}), 200, model(name)
        )
        assert record.id == record_id


def test_a_paste_sent_as_text_is_matched(
    generated: Generated, client: Any, sent: list[httpx.Request]
) -> None:
    body = generated.module("types").File(payload=io.BytesIO(THREE_ISSUES.encode()))
    answer = parsed(
        call(generated, "match.match_log", client=client, body=body),
        200,
        generated.model("MatchResponse"),
    )
    assert {match.issue_id for match in answer.matches} == {"264630-1", "900001-1", "900300-1"}
    top = answer.matches[0]
    assert isinstance(top, generated.model("Match"))
    assert all(isinstance(line, generated.model("MatchedLine")) for line in top.matched_lines)
    assert all(isinstance(fix, generated.model("Workaround")) for fix in top.remediation)
    assert sent[-1].headers["Content-Type"] == "text/plain"
    assert sent[-1].url.query == b""


@pytest.mark.parametrize("limit", [1, 2])
def test_a_json_paste_gets_at_most_its_limit(
    generated: Generated, client: Any, sent: list[httpx.Request], limit: int
) -> None:
    model = generated.model
    unlimited = call(
        generated, "match.match_log", client=client, body=model("MatchBody")(log=THREE_ISSUES)
    )
    everything = [
        match.issue_id for match in parsed(unlimited, 200, model("MatchResponse")).matches
    ]
    assert len(everything) == 3
    body = model("MatchBody")(log=THREE_ISSUES, limit=limit)
    answer = parsed(
        call(generated, "match.match_log", client=client, body=body), 200, model("MatchResponse")
    )
    assert [match.issue_id for match in answer.matches] == everything[:limit]
    # The body's limit counts only while the query string carries none.
    assert sent[-1].url.query == b""
    assert sent[-1].headers["Content-Type"] == "application/json"
    overridden = call(generated, "match.match_log", client=client, body=body, limit=1)
    assert len(parsed(overridden, 200, generated.model("MatchResponse")).matches) == 1


def test_a_line_in_the_query_string_is_matched(generated: Generated, client: Any) -> None:
    answer = parsed(
        call(generated, "match.match_line", client=client, line=SEED_LINE),
        200,
        generated.model("MatchResponse"),
    )
    assert answer.matches[0].issue_id == "264630-1"
    nothing = parsed(
        call(generated, "match.match_line", client=client, line="nothing at all"),
        200,
        generated.model("MatchResponse"),
    )
    assert nothing.matches == []
    assert isinstance(nothing.hint, str)


def test_search_hits_are_typed(generated: Generated, client: Any) -> None:
    answer = parsed(
        call(generated, "search.search_articles", client=client, q="copylog"),
        200,
        generated.model("SearchResponse"),
    )
    assert answer.results
    assert all(isinstance(hit, generated.model("SearchHit")) for hit in answer.results)
    assert answer.results[0].article_id == "264630"


def test_articles_are_imported_written_and_deleted_with_a_token(
    generated: Generated, client: Any, writer: Any, sent: list[httpx.Request]
) -> None:
    model = generated.model
    text = generated.module("types").File(payload=io.BytesIO(PLAIN_ARTICLE.encode()))
    imported = parsed(
        call(generated, "articles.import_article", client=writer, body=text), 201, model("Article")
    )
    assert imported.id == "249077"
    assert imported.issues and isinstance(imported.issues[0], model("Issue"))
    assert sent[-1].headers["Content-Type"] == "text/plain"
    assert sent[-1].headers["Authorization"] == f"Bearer {TOKEN}"

    document = model("ArticleDocumentInput").from_dict(WRITTEN_ARTICLE)
    written = call(
        generated, "articles.put_article", client=writer, article_ref="900100", body=document
    )
    assert parsed(written, 201, model("Article")).workarounds[0].steps[0].number == 1
    matched = call(generated, "match.match_line", client=client, line=WRITTEN_LINE)
    assert parsed(matched, 200, model("MatchResponse")).matches[0].issue_id == "900100-1"

    deleted = call(generated, "articles.delete_article", client=writer, article_ref="900100")
    assert deleted.status_code == 204
    gone = call(generated, "articles.get_article", client=client, article_ref="900100")
    assert gone.status_code == 404


def test_feedback_is_typed_and_reviewed_through_the_client(
    generated: Generated, client: Any, writer: Any
) -> None:
    model = generated.model
    paste = generated.module("types").File(payload=io.BytesIO(PASTE.encode()))
    answer = parsed(
        call(generated, "match.match_log", client=client, body=paste), 200, model("MatchResponse")
    )
    confirmed = model("FeedbackBody")(
        issue_id="900001-1", helpful=True, request_id=answer.request_id
    )
    given = call(generated, "feedback.post_feedback", client=client, body=confirmed)
    pending = parsed(given, 201, model("Feedback"))
    assert pending.feedback.status.value == "pending"
    doubted = model("FeedbackBody")(
        issue_id="264630-1", helpful=False, log=PASTE, comment="not this one"
    )
    doubt = parsed(
        call(generated, "feedback.post_feedback", client=client, body=doubted),
        201,
        model("Feedback"),
    )

    waiting = parsed(
        call(generated, "feedback.list_pending_feedback", client=writer),
        200,
        model("PendingFeedbackPage"),
    )
    assert all(isinstance(item, model("PendingFeedback")) for item in waiting.items)
    assert {item.id for item in waiting.items} == {pending.feedback.id, doubt.feedback.id}

    approved = parsed(
        call(
            generated,
            "feedback.approve_feedback",
            client=writer,
            feedback_id=pending.feedback.id,
        ),
        200,
        model("Feedback"),
    )
    assert approved.feedback.status.value == "approved"
    learned = approved.learned_symptoms
    assert learned and all(isinstance(line, model("LearnedSymptom")) for line in learned)
    rejected = parsed(
        call(generated, "feedback.reject_feedback", client=writer, feedback_id=doubt.feedback.id),
        200,
        model("Feedback"),
    )
    assert rejected.feedback.status.value == "rejected"

    removed = call(
        generated,
        "feedback.delete_learned_symptom",
        client=writer,
        issue_id="900001-1",
        learned_id=learned[0].id,
    )
    assert removed.status_code == 204
    issue = parsed(
        call(generated, "records.get_issue", client=client, issue_id="900001-1"),
        200,
        model("Issue"),
    )
    assert [line.id for line in issue.learned_symptoms] == [line.id for line in learned[1:]]

    stats = parsed(call(generated, "feedback.get_stats", client=client), 200, model("Stats"))
    assert isinstance(stats.feedback, model("FeedbackCounts"))
    assert stats.pastes >= 1
    assert all(isinstance(top, model("TopIssue")) for top in stats.top_issues)

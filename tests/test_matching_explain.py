"""The explain step, and the entry point every caller answers a paste with."""

from __future__ import annotations

import json

import yaml

from schemas.api import MatchResponseOut
from service.config import PROJECT_ROOT
from service.matching import (
    NO_MATCH_HINT,
    MatchOptions,
    answer_paste,
    explain_answer,
    parse,
    rank_paste,
)
from service.views.match import dump_answer

SEED = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
ISSUE1_LINES = [
    s["text"] for s in SEED["symptoms"] if s["issue_id"] == "264630-1" and s["kind"] == "log_line"
]
PLAIN_TYPES = (dict, list, str, int, float, bool, type(None))


def plain(value) -> bool:
    """Only JSON's own types, at any depth."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return isinstance(value, PLAIN_TYPES)


def explained(app, text: str, limit: int = 5) -> dict:
    knowledge = app.extensions["kb"]
    paste = parse(text, max_lines=1000)
    return explain_answer(knowledge, paste, rank_paste(knowledge, paste), limit)


def test_the_answer_is_plain_data_the_view_schema_dumps_as_it_is(app) -> None:
    body = explained(app, "\n".join(ISSUE1_LINES[:3]))
    assert plain(body)
    assert body["matches"][0]["issue_id"] == "264630-1"
    dumped = MatchResponseOut().dump(body)
    assert set(dumped) == set(body)
    assert dumped["matches"][0]["remediation"]
    assert json.loads(json.dumps(dumped)) == dumped


def test_matched_lines_are_the_paste_lines_the_ranker_found(app) -> None:
    body = explained(app, "noise first\n" + ISSUE1_LINES[0])
    lines = body["matches"][0]["matched_lines"]
    assert [(item["line"], item["text"]) for item in lines] == [(2, ISSUE1_LINES[0])]
    assert lines[0]["symptom_text"]


def test_limit_bounds_the_matches(app) -> None:
    assert len(explained(app, "\n".join(ISSUE1_LINES), limit=1)["matches"]) == 1


def test_nothing_matched_gives_the_hint(app) -> None:
    body = explained(app, "zzqx wombat quux")
    assert body["matches"] == []
    assert body["hint"] == NO_MATCH_HINT


def test_answer_paste_applies_the_default_limit_and_names_the_request(app) -> None:
    knowledge = app.extensions["kb"]
    answer = answer_paste(knowledge, "\n".join(ISSUE1_LINES), request_id="r-1")
    assert next(iter(answer)) == "request_id"
    assert answer["request_id"] == "r-1"
    assert len(answer["matches"]) <= knowledge.config.default_match_limit
    one = answer_paste(knowledge, "\n".join(ISSUE1_LINES), MatchOptions(limit=1), request_id="r-2")
    assert len(one["matches"]) == 1


def test_answer_paste_queues_the_answer_in_the_activity_log(app) -> None:
    recorded = []

    class Log:
        def record_match(self, request_id, matches, evidence, unmatched, client) -> None:
            recorded.append((request_id, [m["issue_id"] for m in matches], evidence, client))

    answer_paste(
        app.extensions["kb"], ISSUE1_LINES[0], request_id="r-3", activity=Log(), client="c"
    )
    ((request_id, issues, evidence, client),) = recorded
    assert (request_id, client) == ("r-3", "c")
    assert issues[0] == "264630-1"
    assert set(evidence) == set(issues)
    assert all(evidence[issue] for issue in issues)


def test_the_match_view_dumps_answers_as_their_schema_does_and_sees_new_records(app) -> None:
    answer = answer_paste(app.extensions["kb"], "\n".join(ISSUE1_LINES[:3]), request_id="r-4")
    assert dump_answer(answer) == MatchResponseOut().dump(answer)
    assert dump_answer(answer) == MatchResponseOut().dump(answer)
    top = answer["matches"][0]
    rewritten = {**answer, "matches": [{**top, "causes": [], "remediation": top["remediation"]}]}
    assert dump_answer(rewritten)["matches"][0]["causes"] == []
    assert dump_answer(answer) == MatchResponseOut().dump(answer)

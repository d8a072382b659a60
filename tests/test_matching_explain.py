"""The explain step, and the entry point every caller answers a paste with."""

from __future__ import annotations

import json

import yaml

from schemas.api import MatchResponseOut
from service.config import PROJECT_ROOT
from service.links import issue_page_url
from service.matching import (
    NO_MATCH_HINT,
    Evidence,
    MatchOptions,
    RankedIssue,
    answer_paste,
    explain_answer,
    parse,
    rank_paste,
)
from service.matching.explain import brief_fix, confidence_reason, step_title
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


def schema_dump(answer: dict) -> dict:
    """An answer dumped by its schema, with what the view adds: each match's page, built per
    answer (it is absolute)."""
    matches = [{**m, "page_url": issue_page_url(m["issue_id"])} for m in answer["matches"]]
    return MatchResponseOut().dump({**answer, "matches": matches})


def test_the_match_view_dumps_answers_as_their_schema_does_and_sees_new_records(app) -> None:
    answer = answer_paste(app.extensions["kb"], "\n".join(ISSUE1_LINES[:3]), request_id="r-4")
    assert dump_answer(answer) == schema_dump(answer)
    assert dump_answer(answer) == schema_dump(answer)
    top = answer["matches"][0]
    rewritten = {**answer, "matches": [{**top, "causes": [], "remediation": top["remediation"]}]}
    assert dump_answer(rewritten)["matches"][0]["causes"] == []
    assert dump_answer(answer) == schema_dump(answer)


def test_a_brief_answer_is_the_same_ranking_with_less_of_each_match(app) -> None:
    paste = "\n".join(ISSUE1_LINES)
    knowledge = app.extensions["kb"]
    full = answer_paste(knowledge, paste, request_id="r-5")
    brief = answer_paste(knowledge, paste, MatchOptions(detail="brief"), request_id="r-6")
    assert (full["detail"], brief["detail"]) == ("full", "brief")
    assert [(m["issue_id"], m["score"]) for m in brief["matches"]] == [
        (m["issue_id"], m["score"]) for m in full["matches"]
    ]
    assert plain(brief)
    assert dump_answer(brief) == schema_dump(brief)


def _ranked(*evidence: Evidence, **more) -> RankedIssue:
    return RankedIssue("1-1", "1", score=1.0, evidence=list(evidence), **more)


def _evidence(line: int, how: str = "exact", weight: float = 1.0, **more) -> Evidence:
    return Evidence(line, f"line {line}", f"sig {line}", f"1-1-s{line}", how, 1.0, weight, **more)


def test_the_confidence_reason_names_what_the_ranker_weighed() -> None:
    assert (
        confidence_reason(_ranked(_evidence(1), _evidence(2, "partial")))
        == "2 lines matched (1 exact, 1 partial), said by this issue alone"
    )
    # Two symptoms of the issue matched by one paste line count as one line.
    assert confidence_reason(_ranked(_evidence(1), _evidence(1, weight=0.5))).startswith(
        "1 line matched (1 exact)"
    )
    weak = _ranked(_evidence(1, weight=0.1), _evidence(2, weight=0.2))
    assert "all short or common, counting for little" in confidence_reason(weak)
    shared = _ranked(_evidence(1, shared_by=4, line_key=7), _evidence(2))
    assert "1 of them said by up to 4 articles" in confidence_reason(shared)
    learned = confidence_reason(_ranked(_evidence(3)), learned={"1-1-s3"})
    assert learned.endswith("1 learned from feedback")
    files = _ranked(_evidence(1), log_files=["Ccim32.log"])
    assert confidence_reason(files).endswith("; the paste names its log file Ccim32.log")
    prose = _ranked(text_coverage=0.5, text_terms=["SMS", "orphaned"])
    assert confidence_reason(prose) == (
        "no log line matched; its text covers 50% of the pasted prose, rare words counting most "
        "(SMS, orphaned)"
    )


def test_a_fix_step_is_titled_by_its_first_sentence_cut_at_a_word() -> None:
    assert step_title("Stop the service. Then delete the file.") == "Stop the service."
    assert step_title("Edit the file\n\nX86.BIN=XXX") == "Edit the file"
    long = "Give " + "the account modify permission " * 10
    title = step_title(long)
    assert len(title) <= 100 and title.endswith("...")
    assert long.startswith(title[:-3])


def test_a_workaround_named_after_its_section_is_titled_by_what_it_says() -> None:
    imported = {"title": "Workaround (issue 2)", "description": "Delete Ccrretry.box. Then wait."}
    assert brief_fix({**imported, "steps": []}) == {"title": "Delete Ccrretry.box.", "steps": []}
    named = {"title": "Upgrade all sites", "description": "Upgrade them.", "steps": []}
    assert brief_fix(named)["title"] == "Upgrade all sites"

"""The rank step: parsed lines against the index, into issues ranked by their evidence."""

from __future__ import annotations

import yaml

from service.config import PROJECT_ROOT
from service.learning import penalty_factor
from service.matching import CONFIDENT, Paste, Penalties, RankOutcome, parse, rank_paste
from service.matching.rank import Ranker

SEED = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
ISSUE1_LINES = [
    s["text"] for s in SEED["symptoms"] if s["issue_id"] == "264630-1" and s["kind"] == "log_line"
]


def ranked(app, text: str, penalties: Penalties | None = None) -> tuple[Paste, RankOutcome]:
    """The paste parsed, and ranked as the pipeline does, or by a ranker given `penalties`."""
    knowledge = app.extensions["kb"]
    paste = parse(text, max_lines=1000)
    if penalties is None:
        return paste, rank_paste(knowledge, paste)
    ranker = Ranker(
        knowledge.index.searcher(),
        knowledge.index.caches,
        knowledge.store,
        knowledge.index.articles_saying,
    )
    return paste, ranker.rank(paste.lines, paste.log_files, penalties=penalties)


def test_issue_lines_rank_their_issue_first_and_confidently(app) -> None:
    _, outcome = ranked(app, "\n".join(ISSUE1_LINES[:3]))
    top = outcome.issues[0]
    assert top.issue_id == "264630-1"
    assert top.confidence >= CONFIDENT
    assert [r.score for r in outcome.issues] == sorted(
        (r.score for r in outcome.issues), reverse=True
    )


def test_evidence_carries_the_signature_of_its_paste_line(app) -> None:
    paste, outcome = ranked(app, "\n".join(ISSUE1_LINES[:3]) + "\nnothing known here at all")
    by_number = {line.number: line for line in paste.lines}
    evidence = [e for r in outcome.issues for e in r.evidence]
    assert evidence
    for e in evidence:
        assert e.signature == by_number[e.line].signature
        assert e.text == by_number[e.line].message
    assert outcome.matched_lines + outcome.unmatched_lines == len(paste.lines)
    assert any(n.signature == by_number[4].signature for n in outcome.unmatched)


def test_penalties_lower_an_issue_found_by_the_lines_they_name_but_keep_it(app) -> None:
    text = "\n".join(ISSUE1_LINES[:2])
    paste, plain = ranked(app, text)
    before = {r.issue_id: r.score for r in plain.issues}
    signatures = {line.signature: 3 for line in paste.lines}
    _, lowered = ranked(app, text, Penalties(frozenset({"264630-1"}), lambda issue_id: signatures))
    after = {r.issue_id: r.score for r in lowered.issues}
    assert set(after) == set(before)
    assert after["264630-1"] == before["264630-1"] * penalty_factor(3)
    assert [r.score for r in lowered.issues] == sorted(after.values(), reverse=True)


def test_penalties_on_other_lines_change_nothing(app) -> None:
    text = "\n".join(ISSUE1_LINES[:2])
    _, plain = ranked(app, text)
    _, same = ranked(
        app, text, Penalties(frozenset({"264630-1"}), lambda issue_id: {"another line": 5})
    )
    assert [(r.issue_id, r.score) for r in same.issues] == [
        (r.issue_id, r.score) for r in plain.issues
    ]

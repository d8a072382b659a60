"""The paste page through the test client: the form, its errors, and what it shows."""

from __future__ import annotations

import html as html_lib
import io
import re

import pytest

from service.render import MARKDOWN
from service.views import page
from service.views.match import dump_answer
from service.views.page import EXAMPLE_LOG, marked_lines
from tests.helpers import started
from tests.test_serve import SEED_LINES


def test_the_form_is_served_with_its_script_and_no_outside_assets(client) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<textarea id="log" name="log"' in html
    assert 'enctype="multipart/form-data"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    script = client.get("/static/paste.js")
    assert script.status_code == 200 and b"FileReader" in script.data
    script.close()


def test_a_paste_is_answered_with_evidence_steps_and_highlighted_lines(client) -> None:
    response = client.post("/", data={"log": SEED_LINES})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    first = re.search(r'<article class="match" id="match-1".*?</article>', html, re.S).group(0)
    assert 'data-issue="264630-1"' in first
    assert "Edit the Copylog.tcf file on the primary domain controller" in first
    assert html.count('class="hit"') == 2
    assert '<a href="/articles/264630">KB264630</a>' in html


def test_pasted_markup_is_shown_as_text(client) -> None:
    html = client.post("/", data={"log": "<script>alert(1)</script>\n"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_utf16_log_file_is_read(client) -> None:
    upload = (io.BytesIO(SEED_LINES.encode("utf-16")), "Ccim32.log")
    response = client.post("/", data={"logfile": upload}, content_type="multipart/form-data")
    assert 'data-issue="264630-1"' in response.get_data(as_text=True)


def test_form_mistakes_are_explained_on_the_page(client) -> None:
    empty = client.post("/", data={"log": "  \n"})
    assert empty.status_code == 400
    assert "Paste some log lines" in empty.get_data(as_text=True)
    binary = (io.BytesIO(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\xd8"), "shot.png")
    unreadable = client.post("/", data={"logfile": binary}, content_type="multipart/form-data")
    assert unreadable.status_code == 400
    assert "shot.png is not readable text" in unreadable.get_data(as_text=True)


def test_feedback_buttons_need_a_known_match(client) -> None:
    incomplete = client.post("/feedback", data={"issue_id": "264630-1", "helpful": "yes"})
    assert incomplete.status_code == 400
    unknown = client.post(
        "/feedback", data={"request_id": "nope", "issue_id": "264630-1", "helpful": "no"}
    )
    assert unknown.status_code == 404
    assert "No recent match has the request id" in unknown.get_data(as_text=True)


def answer_of(html: str) -> dict[str, object]:
    """What the answer page shows: the request id, issues in order, and each line's mark."""
    return {
        "request_id": re.search(r'name="request_id" value="([^"]*)"', html).group(1),
        "issues": re.findall(r'<article class="match" id="match-\d+" data-issue="([^"]+)"', html),
        "lines": dict(re.findall(r'<li id="line-(\d+)"(?: class="(\w+)")?>', html)),
    }


def test_the_example_fills_the_box_and_is_answered(client) -> None:
    response = client.post("/", data={"example": "1", "log": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    box = re.search(r'<textarea id="log"[^>]*>\n(.*?)</textarea>', html, re.S).group(1)
    assert html_lib.unescape(box) == EXAMPLE_LOG
    shown = answer_of(html)
    assert shown["issues"][0] == "264630-1"
    # Its routine lines match nothing: the page can show both kinds of line.
    assert set(shown["lines"].values()) == {"hit", "miss"}
    served = client.get("/static/example.log")
    assert served.get_data(as_text=True) == EXAMPLE_LOG
    served.close()


def test_lines_are_marked_as_matched_unmatched_or_blank(client) -> None:
    paste = SEED_LINES.replace("\n", "\n\nRoutine heartbeat sent to the site server  CCIM32\n", 1)
    shown = answer_of(client.post("/", data={"log": paste}).get_data(as_text=True))
    assert shown["lines"] == {"1": "hit", "2": "", "3": "miss", "4": "hit"}


def test_lines_are_numbered_as_the_matcher_numbers_them(client) -> None:
    # A form feed or a Unicode line separator does not end a line for the matcher: the page
    # must not count it as one either, or the marks land on the wrong lines.
    paste = "Routine start\x0cof the day\u2028still the first line\r\n" + SEED_LINES
    shown = answer_of(client.post("/", data={"log": paste}).get_data(as_text=True))
    assert shown["lines"] == {"1": "miss", "2": "hit", "3": "hit"}


@pytest.mark.parametrize(
    ("lines", "evidence", "states"),
    [
        # A CMTrace record over three lines, matched by its first: all three are evidence.
        (["<![LOG[first", "second", "third]LOG]!><time=1>", "after"], [1], "hit hit hit miss"),
        # The same record unmatched, then a matched line.
        (["<![LOG[first", "second]LOG]!><time=1>", "plain"], [3], "miss miss hit"),
        (["", "  ", "text"], [], "  miss"),
    ],
)
def test_marked_lines_follow_records_over_several_lines(lines, evidence, states) -> None:
    matches = [{"matched_lines": [{"line": n} for n in evidence]}]
    assert " ".join(line["state"] for line in marked_lines(lines, matches)) == states


def test_the_copy_for_a_ticket_text_is_the_apis_brief_markdown(client) -> None:
    html = client.post("/", data={"log": SEED_LINES}).get_data(as_text=True)
    shown = re.search(r'<textarea id="answer-markdown"[^>]*>\n(.*?)</textarea>', html, re.S)
    api = client.post(
        "/v1/match?detail=brief",
        data=SEED_LINES,
        content_type="text/plain",
        headers={"Accept": MARKDOWN},
    )
    markdown = api.get_data(as_text=True)
    assert html_lib.unescape(shown.group(1)) == markdown
    assert "**1. Copylog.tcf rewritten by an SP1 site" in markdown
    assert "More: http://localhost/issues/264630-1" in markdown
    # The page itself shows the full answer: every step.
    first = re.search(r'<article class="match" id="match-1".*?</article>', html, re.S).group(0)
    assert "Edit the Copylog.tcf file on the primary domain controller" in first


def test_feedback_without_javascript_comes_back_to_the_same_answer(make_app, tmp_path) -> None:
    _, _, client = started(make_app, tmp_path)
    first = answer_of(client.post("/", data={"log": SEED_LINES}).get_data(as_text=True))
    form = {"log": SEED_LINES, "request_id": first["request_id"], "helpful": "yes"}
    response = client.post("/feedback?issue_id=264630-1", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    again = answer_of(html)
    assert again == first
    thanks = re.search(r'<article class="match" id="match-1".*?</article>', html, re.S).group(0)
    assert "Thank you: 264630-1 is recorded as the answer." in thanks
    stats = client.get("/v1/stats").get_json()
    # The verdict is recorded once, and showing the answer again is not another paste.
    assert stats["feedback"]["total"] == 1 and stats["feedback"]["helpful"] == 1
    assert stats["pastes"] == 1


def test_feedback_that_is_refused_still_shows_the_answer(client) -> None:
    form = {"log": SEED_LINES, "request_id": "not-a-match", "helpful": "no"}
    response = client.post("/feedback?issue_id=264630-1", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No recent match has the request id" in html
    assert answer_of(html)["issues"][0] == "264630-1"


def test_the_search_box_lists_articles_without_javascript(client) -> None:
    response = client.get("/?q=copylog clicore")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<a href="/articles/264630">KB264630: ' in html
    assert re.search(r"<mark>[Cc]opylog</mark>", html)
    assert 'id="q" name="q" value="copylog clicore"' in html
    nothing = client.get("/?q=zzyzxqwv").get_data(as_text=True)
    assert "No article has those words" in nothing
    too_long = client.get("/?q=" + "a" * 1001)
    assert too_long.status_code == 400
    assert "Describe the problem in 1 to 1000 characters" in too_long.get_data(as_text=True)


def test_a_match_not_sure_says_so_and_folds_its_causes_and_fixes(client, monkeypatch) -> None:
    def with_certainty(answer: dict) -> dict:
        body = dump_answer(answer)
        for match in body["matches"]:
            match["certainty"] = "not sure"
            match["confidence_reason"] = "2 lines, each said by 1 article"
            match["page_url"] = f"http://kb.example/issues/{match['issue_id']}"
        return body

    monkeypatch.setattr(page, "dump_answer", with_certainty)
    html = client.post("/", data={"log": SEED_LINES}).get_data(as_text=True)
    first = re.search(r'<article class="match" id="match-1".*?</article>', html, re.S).group(0)
    assert '<span class="unsure">not sure</span>' in first
    assert '<p class="reason">2 lines, each said by 1 article</p>' in first
    assert '<a href="http://kb.example/issues/264630-1">' in first
    # Not sure: the causes and fixes are there, folded.
    assert "<details><summary>Causes and fixes, in case it is this issue</summary>" in first


def test_each_match_shows_its_certainty_reason_and_issue_page(client) -> None:
    html = client.post("/", data={"log": SEED_LINES}).get_data(as_text=True)
    top = client.post("/v1/match", data=SEED_LINES, content_type="text/plain").get_json()
    top = top["matches"][0]
    assert top["certainty"] == "sure"
    first = re.search(r'<article class="match" id="match-1".*?</article>', html, re.S).group(0)
    assert f"confidence {top['confidence']:.2f}, sure</span>" in first
    assert 'class="unsure"' not in first
    reason = html_lib.escape(top["confidence_reason"], quote=False)
    assert f'<p class="reason">{reason}</p>' in first
    assert f'<a href="{top["page_url"]}">' in first
    assert top["page_url"] == "http://localhost/issues/264630-1"

"""Answers for people: Markdown for chat and plain text for terminals, chosen by Accept."""

from __future__ import annotations

import pytest

from service.render import article_markdown, match_markdown, match_text
from tests.test_contract import assert_conforms

ISSUE_1_PASTE = (
    "Trying to open IPC connection with APM...  CCIM32  $$<CCIM32><Thu Jul 26 14:22:53.512 2001 "
    "Pacific Standard Time><thread=1600 (0x640)>\r\n"
    'Component "Remote Control" moved from index 0 to 6  CCIM32\r\n'
)
STEP_1 = "Edit the Copylog.tcf file on the primary domain controller"
STEP_2 = "Change the permissions on the Copylog.tcf file to Read Only"


def post_paste(client, accept: str | None):
    headers = {"Accept": accept} if accept else {}
    return client.post("/v1/match", data=ISSUE_1_PASTE, content_type="text/plain", headers=headers)


def test_plain_text_answer_fits_a_terminal_and_gives_the_fix_in_order(client) -> None:
    response = post_paste(client, "text/plain")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Vary"] == "Accept"
    text = response.get_data(as_text=True)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.index("KB264630 issue 264630-1") < text.index("Why it matched:")
    assert "line    1 exact" in text
    # The steps of the Copylog.tcf edit come numbered and in the article's order.
    assert text.index(f" 1. {STEP_1}") < text.index(f" 2. {STEP_2}")
    assert "WARNING: NOTE: After you upgrade the site to SP2" in text
    assert "http://localhost/issues/264630-1" in text


def test_markdown_answer_has_evidence_steps_warnings_and_the_article_page(client) -> None:
    response = post_paste(client, "text/markdown")
    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    first_heading = next(line for line in text.splitlines() if line.startswith("## "))
    assert first_heading == (
        "## 1. Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 installation"
    )
    assert "- line 1 (exact): `Trying to open IPC connection with APM...`" in text
    assert "[KB264630](http://localhost/articles/264630)" in text
    assert f"   1. {STEP_1}" in text
    assert "> **Warning:** Upgrading to SP2 does not repair" in text


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, */*;q=0.8"])
def test_json_stays_the_default(client, accept: str | None) -> None:
    response = post_paste(client, accept)
    assert response.mimetype == "application/json"
    assert response.get_json()["matches"][0]["issue_id"] == "264630-1"


def test_a_quick_lookup_renders_too(client) -> None:
    response = client.get(
        "/v1/match?line=Trying+to+open+IPC+connection+with+APM...",
        headers={"Accept": "text/plain"},
    )
    assert response.mimetype == "text/plain"
    assert "KB264630 issue 264630-1" in response.get_data(as_text=True)


def test_a_paste_that_matches_nothing_says_so_with_the_hint(client) -> None:
    response = client.post(
        "/v1/match",
        data="kernel: eth0: link up, 1000 Mbps, full duplex\n",
        content_type="text/plain",
        headers={"Accept": "text/markdown"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.startswith("## No known issue matched")
    assert "/v1/search?q=" in text


def test_article_renders_every_issue_and_workaround(client) -> None:
    article = client.get("/v1/articles/KB264630").get_json()
    for accept in ("text/markdown", "text/plain"):
        response = client.get("/v1/articles/KB264630", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.mimetype == accept
        text = response.get_data(as_text=True)
        for workaround in article["workarounds"]:
            assert workaround["title"][:40] in text.replace("\n", " ").replace("\\", "")
        assert text.count("Issue 1: Copylog.tcf") == 1
        assert "KB251070" in text


def test_issue_text_inlines_its_causes_and_steps(client) -> None:
    response = client.get("/v1/issues/264630-2", headers={"Accept": "text/plain"})
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    assert "Causes:" in text and "252718" in text
    assert "Ccm.old" in text
    assert all(len(line) <= 80 for line in text.splitlines())


@pytest.mark.parametrize(
    "url", ["/v1/articles/264630", "/v1/issues/264630-1", "/v1/match?line=APM"]
)
@pytest.mark.parametrize("accept", ["text/markdown", "text/plain"])
def test_rendered_answers_are_in_the_contract(client, url: str, accept: str) -> None:
    response = client.get(url, headers={"Accept": accept})
    assert_conforms("get", url.split("?", 1)[0], response)


def test_endpoints_without_renderings_refuse_text_with_a_problem(client) -> None:
    response = client.get("/v1/causes", headers={"Accept": "text/plain"})
    assert response.status_code == 406
    assert response.mimetype == "application/problem+json"
    assert "application/json" in response.get_json()["detail"]


def test_errors_stay_problem_json_when_text_was_asked_for(client) -> None:
    response = client.get("/v1/articles/999999", headers={"Accept": "text/plain"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def _match_body(title: str, line: str) -> dict:
    return {
        "records_read": 1,
        "format": "plain",
        "matched_lines": 1,
        "unmatched_lines": 0,
        "matches": [
            {
                "article_id": "1",
                "issue_id": "1-1",
                "title": title,
                "article_title": "An *article*",
                "score": 1.0,
                "confidence": 0.9,
                "certainty": "sure",
                "confidence_reason": "1 line matched (1 exact), said by this issue alone",
                "page_url": "/issues/1-1",
                "matched_lines": [{"line": 1, "text": line, "match": "exact"}],
                "matched_terms": [],
                "error_codes": [],
                "causes": [],
                "remediation": [],
                "related_articles": [],
                "links": {"issue": "/v1/issues/1-1", "article": "/v1/articles/1"},
            }
        ],
    }


def test_markdown_escapes_titles_and_fences_lines_with_backticks() -> None:
    text = match_markdown(_match_body("Setup *fails* with [error]", "code `x` failed"), "http://h/")
    assert "## 1. Setup \\*fails\\* with \\[error\\]" in text
    assert "``code `x` failed``" in text


def test_plain_text_breaks_an_unbroken_long_line_within_80_columns() -> None:
    text = match_text(_match_body("A title", "x" * 500), "http://h/")
    assert all(len(line) <= 80 for line in text.splitlines())
    assert text.replace("\n", "").replace(" ", "").count("x" * 500) == 1


def test_error_codes_are_named_in_markdown_and_plain_text() -> None:
    body = _match_body("A title", "Unable to start the agent. Win32 Error: 5")
    body["matches"][0]["error_codes"] = [
        {
            "code": "5",
            "kind": "win32",
            "name": "ERROR_ACCESS_DENIED",
            "meaning": "Access is denied.",
        },
        {"code": "0x80990001", "kind": "hresult", "name": None, "meaning": None},
    ]
    markdown = match_markdown(body, "http://h/")
    assert "- error `5` `ERROR_ACCESS_DENIED` (Win32): Access is denied." in markdown
    assert "- error `0x80990001` (HRESULT): not a well-known code" in markdown
    text = match_text(body, "http://h/")
    assert "  error 5 ERROR_ACCESS_DENIED (Win32): Access is denied." in text


def test_a_table_in_a_step_stays_a_table_in_markdown() -> None:
    body = _match_body("A title", "a line")
    table = "File      Version\n--------  -------\nWidg.dll  2.0.1"
    body["matches"][0]["remediation"] = [
        {
            "title": "Resolution",
            "steps": [{"number": 1, "text": f"Check the files:\n\n{table}"}],
        }
    ]
    markdown = match_markdown(body, "http://h/")
    assert "   1. Check the files:\n\n      ```\n      File      Version\n" in markdown
    assert "      Widg.dll  2.0.1\n      ```" in markdown


def test_article_markdown_keeps_bullets_as_a_list() -> None:
    article = {
        "id": "1",
        "title": "T",
        "applies_to": [],
        "summary": "Some conditions:\n• one\n• two",
        "issues": [],
        "links": {"self": "/v1/articles/1"},
    }
    text = article_markdown(article, "http://h")
    assert "Some conditions:\n- one\n- two" in text


def test_a_brief_markdown_answer_is_what_a_ticket_needs(client) -> None:
    response = client.post(
        "/v1/match?detail=brief",
        data=ISSUE_1_PASTE,
        content_type="text/plain",
        headers={"Accept": "text/markdown"},
    )
    text = response.get_data(as_text=True)
    assert text.splitlines()[2] == (
        "**1. Copylog.tcf rewritten by an SP1 site leaves clients in a mixed SP1/SP2 "
        "installation**  "
    )
    assert "- line 1: `Trying to open IPC connection with APM...`" in text
    assert "2. Remotely edit Copylog.tcf on the PDC to point Clicore.exe at the SP2 site\n" in text
    assert f"   - {STEP_2} and assign Full Control permission...\n" in text
    assert text.rstrip().endswith("More: http://localhost/issues/264630-1")
    # No causes, warnings or related articles: the page has them.
    for part in ("**Causes**", "Warning", "Related articles"):
        assert part not in text


def test_a_brief_plain_answer_fits_a_terminal(client) -> None:
    response = client.post(
        "/v1/match?detail=brief",
        data=ISSUE_1_PASTE,
        content_type="text/plain",
        headers={"Accept": "text/plain"},
    )
    text = response.get_data(as_text=True)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "   KB264630 issue 264630-1  confidence 0.86, sure\n" in text
    assert "   Because: 2 lines matched (2 exact), said by this issue alone\n" in text
    assert "   http://localhost/issues/264630-1\n" in text
    assert f"     - {STEP_1}" in text
    assert "WARNING" not in text

"""The paste page through the test client: the form, its errors, and what it shows."""

from __future__ import annotations

import io
import re

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
    first = html.index('data-issue="264630-1"')
    assert first < html.index("Edit the Copylog.tcf file on the primary domain controller")
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

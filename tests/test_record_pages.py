"""The pages people read: `/articles/{id}` and `/issues/{id}`, and the links that lead to them."""

from __future__ import annotations

import html
import re

import pytest

from service.config import Config
from tests.test_render import ISSUE_1_PASTE, STEP_1, STEP_2

SEED_TITLE = "SMS 2.0 SP1 and SP2 Interoperability Issues When Required Updates Are Not Applied"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
TOKEN = "page-writer"


def page_text(response) -> str:
    """The page's HTML with entities decoded, to look for the records' text in."""
    return html.unescape(response.get_data(as_text=True))


def hrefs(response) -> set[str]:
    return {
        html.unescape(h) for h in re.findall(r'href="([^"]*)"', response.get_data(as_text=True))
    }


def test_the_article_page_shows_the_seed_article_with_its_issues_and_steps(client) -> None:
    response = client.get("/articles/264630")
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = page_text(response)
    assert f"<h1>KB264630: {SEED_TITLE}</h1>" in text
    record = client.get("/v1/articles/264630").get_json()
    for issue in record["issues"]:
        assert f"Issue {issue['number']}: {issue['title']}" in text
    for workaround in record["workarounds"]:
        assert workaround["title"] in text
        for step in workaround["steps"]:
            assert step["text"] in text
            for warning in step["warnings"]:
                assert warning in text
    # Steps keep the article's order.
    assert text.index(STEP_1) < text.index(STEP_2)
    assert "Applies to: Microsoft Systems Management Server 2.0, 2.0 SP1" in text
    links = hrefs(response)
    assert {"http://localhost/issues/264630-1", "http://localhost/issues/264630-2"} <= links
    assert "http://localhost/v1/articles/264630" in links
    assert "@media print" in text
    # Readable without JavaScript, and nothing is loaded from elsewhere.
    assert "<script" not in text
    assert not re.search(r'(src|href)="(https?:)?//(?!localhost/)', response.get_data(as_text=True))


def test_an_alias_shows_the_same_article_with_one_canonical_address(client) -> None:
    response = client.get("/articles/q264630")
    assert response.status_code == 200
    assert '<link rel="canonical" href="http://localhost/articles/264630">' in page_text(response)


def test_the_issue_page_shows_its_symptoms_causes_and_steps(client) -> None:
    response = client.get("/issues/264630-1")
    assert response.status_code == 200 and response.mimetype == "text/html"
    text = page_text(response)
    record = client.get("/v1/issues/264630-1?expand=symptoms,causes,workarounds").get_json()
    assert f"<h1>{record['title']}</h1>" in text
    for symptom in record["symptoms"]:
        assert symptom["text"] in text
    for cause in record["causes"]:
        assert cause["text"] in text
    assert text.index(STEP_1) < text.index(STEP_2)
    assert "Upgrading to SP2 does not repair" in text
    links = hrefs(response)
    # Its article, the article's other issue, and the JSON it shows.
    assert {
        "http://localhost/articles/264630",
        "http://localhost/issues/264630-2",
        "http://localhost/v1/issues/264630-1",
    } <= links


@pytest.mark.parametrize("url", ["/articles/999999", "/issues/264630-9", "/issues/nope"])
@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [
        (BROWSER_ACCEPT, "text/html"),
        ("text/html", "text/html"),
        (None, "application/problem+json"),
        ("*/*", "application/problem+json"),
        ("application/json", "application/problem+json"),
    ],
)
def test_an_unknown_id_is_a_404_page_for_browsers_and_a_problem_otherwise(
    client, url: str, accept: str | None, mimetype: str
) -> None:
    response = client.get(url, headers={"Accept": accept} if accept else {})
    assert response.status_code == 404
    assert response.mimetype == mimetype
    assert response.headers["Vary"] == "Accept"
    record_id = url.rsplit("/", 1)[1]
    if mimetype == "text/html":
        assert f"has the id '{record_id}'" in page_text(response)
    else:
        assert response.get_json()["detail"].endswith(f"has the id '{record_id}'.")


def test_records_give_their_pages_and_the_pages_answer(client) -> None:
    article = client.get("/v1/articles/264630").get_json()
    listed = client.get("/v1/issues?article_id=264630").get_json()["items"]
    assert article["page_url"] == "http://localhost/articles/264630"
    assert (
        [i["page_url"] for i in article["issues"]]
        == [i["page_url"] for i in listed]
        == [
            "http://localhost/issues/264630-1",
            "http://localhost/issues/264630-2",
        ]
    )
    for url in (article["page_url"], listed[0]["page_url"]):
        page = client.get(url)
        assert page.status_code == 200 and page.mimetype == "text/html"


def test_each_match_gives_the_page_of_its_issue(client) -> None:
    body = client.post("/v1/match", data=ISSUE_1_PASTE, content_type="text/plain").get_json()
    for match in body["matches"]:
        assert match["page_url"] == f"http://localhost/issues/{match['issue_id']}"


@pytest.mark.parametrize(
    ("request_path", "accept", "expected"),
    [
        ("/v1/match", "text/markdown", ["(http://localhost/issues/264630-1)"]),
        ("/v1/match", "text/plain", ["http://localhost/issues/264630-1"]),
        ("/v1/issues/264630-1", "text/markdown", ["(http://localhost/articles/264630)"]),
        ("/v1/issues/264630-1", "text/plain", ["http://localhost/issues/264630-1"]),
        ("/v1/articles/264630", "text/markdown", ["Source: http://localhost/articles/264630"]),
        ("/v1/articles/264630", "text/plain", ["http://localhost/articles/264630"]),
    ],
)
def test_renderings_for_people_link_to_the_pages(
    client, request_path: str, accept: str, expected: list[str]
) -> None:
    if request_path == "/v1/match":
        response = client.post(
            request_path, data=ISSUE_1_PASTE, content_type="text/plain", headers={"Accept": accept}
        )
    else:
        response = client.get(request_path, headers={"Accept": accept})
    text = response.get_data(as_text=True)
    for link in expected:
        assert link in text
    # A person is never sent to the JSON records.
    assert "/v1/articles/" not in text and "/v1/issues/" not in text


def _page_links(client) -> dict[str, str]:
    """The links a person gets to issue 264630-1, from each place that gives one."""
    match = client.post("/v1/match", data=ISSUE_1_PASTE, content_type="text/plain")
    markdown = client.post(
        "/v1/match",
        data=ISSUE_1_PASTE,
        content_type="text/plain",
        headers={"Accept": "text/markdown"},
    ).get_data(as_text=True)
    article_page = client.get("/articles/264630")
    return {
        "json": match.get_json()["matches"][0]["page_url"],
        "record": client.get("/v1/issues/264630-1").get_json()["page_url"],
        "markdown": re.search(r"\[`264630-1`\]\(([^)]+)\)", markdown).group(1),
        "page": next(h for h in hrefs(article_page) if h.endswith("/issues/264630-1")),
    }


def test_a_public_url_is_the_base_of_every_absolute_link(make_app) -> None:
    app = make_app(public_url="https://kb.example.com/help")
    links = _page_links(app.test_client())
    assert set(links.values()) == {"https://kb.example.com/help/issues/264630-1"}


def test_trusted_proxy_headers_are_the_base_of_absolute_links(make_app) -> None:
    forwarded = {
        "X-Forwarded-Host": "kb.example.org",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/kb",
    }
    trusting = make_app(trust_proxy=1).test_client()
    trusting.environ_base.update(
        {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in forwarded.items()}
    )
    assert set(_page_links(trusting).values()) == {"https://kb.example.org/kb/issues/264630-1"}


def test_proxy_headers_are_ignored_unless_the_proxy_is_trusted(client) -> None:
    client.environ_base.update(
        {"HTTP_X_FORWARDED_HOST": "evil.example", "HTTP_X_FORWARDED_PROTO": "https"}
    )
    assert set(_page_links(client).values()) == {"http://localhost/issues/264630-1"}


@pytest.mark.parametrize(
    "value", ["kb.example.com", "ftp://kb.example.com", "https://", "https://h/?q=1"]
)
def test_a_public_url_that_is_no_address_stops_the_start(monkeypatch, value: str) -> None:
    monkeypatch.setenv("KB_PUBLIC_URL", value)
    with pytest.raises(SystemExit, match="KB_PUBLIC_URL"):
        Config.from_env()


def test_a_public_url_is_read_without_its_trailing_slash(monkeypatch) -> None:
    monkeypatch.setenv("KB_PUBLIC_URL", "https://kb.example.com/help/")
    assert Config.from_env().public_url == "https://kb.example.com/help"


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _article_with_markup() -> dict:
    return {
        "id": "900300",
        "title": f"Title {MARKUP}",
        "applies_to": [{"product": f"Product {MARKUP}", "version": "1.0"}],
        "summary": f"Summary {MARKUP}",
        "issues": [
            {"id": "900300-1", "number": 1, "title": f"Issue {MARKUP}", "description": MARKUP}
        ],
        "symptoms": [
            {
                "id": "900300-1-s01",
                "issue_id": "900300-1",
                "kind": "log_line",
                "text": f"Agent failed {MARKUP}",
            }
        ],
        "causes": [{"id": "900300-c1", "issue_ids": ["900300-1"], "text": f"Cause {MARKUP}"}],
        "workarounds": [
            {
                "id": "900300-w1",
                "issue_ids": ["900300-1"],
                "title": f"Fix {MARKUP}",
                "steps": [{"number": 1, "text": f"Step {MARKUP}", "warnings": [MARKUP]}],
            }
        ],
    }


def test_markup_in_a_record_is_shown_as_text(make_app) -> None:
    client = make_app(api_tokens=[TOKEN]).test_client()
    written = client.put(
        "/v1/articles/900300",
        json=_article_with_markup(),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert written.status_code == 201, written.get_json()
    for path in ("/articles/900300", "/issues/900300-1"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>" not in body and "<img" not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
        # Every field with markup was on the page, escaped (the title twice: <title> and <h1>).
        assert body.count("&lt;img src=x onerror=alert(1)&gt;") >= 7

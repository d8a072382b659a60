"""Matching pasted logs through the HTTP API: the seed quality bar and the paste formats."""

from __future__ import annotations

import codecs
import itertools
import random
import re

import pytest
import yaml
from flask import Flask

from service.config import PROJECT_ROOT
from tests.helpers import SEED_TEXT, make_config, running_app
from tests.test_serve import SEED_LINES

SEED = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
ISSUE1_LINES = [
    s["text"] for s in SEED["symptoms"] if s["issue_id"] == "264630-1" and s["kind"] == "log_line"
]
TRAILER = (
    "  $$<{component}><Thu Jul 26 14:22:{second:02d}.512 2001 Pacific Standard Time>"
    "<thread=1600 (0x640)>"
)


# Each read test runs against a SQLite store and a PostgreSQL one.
@pytest.fixture(scope="module")
def app(backend_app: Flask) -> Flask:
    return backend_app


def disguise(line: str, rng: random.Random) -> str:
    """The same line as another machine would write it: other paths, sites, servers, versions."""
    line = line.replace("C:\\WINDOWS", rng.choice(["D:\\WINNT", "C:\\Windows", "E:\\OS"]))
    line = line.replace("C:\\WINNT", rng.choice(["C:\\WINDOWS", "D:\\WIN2K"]))
    line = line.replace(
        "\\\\SMSPDC20\\CAP_PET",
        rng.choice(["\\\\NYCDC01\\CAP_NY1", "\\\\SRV-LON-07\\CAP_LON\\extra"]),
    )
    line = line.replace("site SEC", "site " + rng.choice(["A01", "XYZ", "LN2"]))
    return re.sub(
        r"\d+\.\d+\.\d+\.\d+",
        lambda m: ".".join(str(rng.randint(0, 3000)) for _ in range(4)),
        line,
    )


def with_trailer(line: str, rng: random.Random) -> str:
    component = "CCIM32" if line.endswith("CCIM32") else rng.choice(["CLISVC", "Launch32"])
    return line + TRAILER.format(component=component, second=rng.randint(0, 59))


def match(client, text: str, **query) -> dict:
    response = client.post(
        "/v1/match", data=text.encode(), content_type="text/plain", query_string=query
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_any_two_issue1_lines_disguised_rank_issue1_first(client) -> None:
    rng = random.Random(264630)
    pairs = list(itertools.combinations(ISSUE1_LINES, 2))
    assert len(pairs) == 595
    failures = []
    for one, two in pairs:
        paste = "\n".join(with_trailer(disguise(line, rng), rng) for line in (one, two))
        body = match(client, paste)
        top = body["matches"][0] if body["matches"] else None
        if top is None or top["issue_id"] != "264630-1" or top["confidence"] < 0.5:
            failures.append((one, two, top and (top["issue_id"], top["confidence"])))
    assert failures == []


def test_a_match_explains_itself_and_gives_the_fix(client) -> None:
    paste = (
        "Ccim32.log:\n"
        + with_trailer(disguise(ISSUE1_LINES[-3], random.Random(1)), random.Random(1))
        + "\nsome unrelated noise line about nothing in particular\n"
        + disguise(ISSUE1_LINES[0], random.Random(2))
        + "\n"
    )
    body = match(client, paste)
    assert body["format"] == "sms2"
    assert body["lines_read"] == 4
    assert body["log_files"] == ["Ccim32.log"]
    assert body["unmatched_lines"] == 1
    top = body["matches"][0]
    assert (top["article_id"], top["issue_id"]) == ("264630", "264630-1")
    assert [m["line"] for m in top["matched_lines"]] == [2, 4]
    assert {m["match"] for m in top["matched_lines"]} <= {"exact", "normalised", "partial"}
    assert all(m["symptom_id"].startswith("264630-1-s") for m in top["matched_lines"])
    assert {c["missing_update"] for c in top["causes"]} >= {"251070", "249077"}
    steps = next(w for w in top["remediation"] if w["id"] == "264630-w2")["steps"]
    assert [s["number"] for s in steps] == [1, 2, 3]
    assert any(step["warnings"] for step in steps)
    assert {r["article_id"] for r in top["related_articles"]} == {
        "251070",
        "249077",
        "252718",
        "252717",
    }
    assert top["links"]["issue"] == "/v1/issues/264630-1"


def test_an_exact_line_says_exact_and_a_disguised_one_normalised(client) -> None:
    exact = client.get("/v1/match", query_string={"line": ISSUE1_LINES[0]}).get_json()
    assert exact["matches"][0]["matched_lines"][0]["match"] == "exact"
    other = disguise(ISSUE1_LINES[0], random.Random(3))
    assert other != ISSUE1_LINES[0]
    body = client.get("/v1/match", query_string={"line": other}).get_json()
    assert body["matches"][0]["matched_lines"][0]["match"] == "normalised"


def test_a_line_with_extra_words_matches_partially(client) -> None:
    line = "Warning - could not find a site CAP with uplevel version of component Asset Agent"
    top = client.get("/v1/match", query_string={"line": line}).get_json()["matches"][0]
    assert top["issue_id"] == "264630-1"
    assert top["matched_lines"][0]["match"] == "partial"


def test_issue2_described_in_a_users_own_words_ranks_first(client) -> None:
    text = (
        "Since we upgraded one site to SP2 the old SP1 site keeps trying to remotely install "
        "its client on computers that already run SP2. Software advertisements never reach "
        "those clients and some of them look orphaned."
    )
    body = match(client, text)
    assert body["matches"][0]["issue_id"] == "264630-2"


SYSLOG = """\
Nov 25 09:27:11 web01 sshd[1234]: Accepted publickey for root from 10.0.0.1 port 52144 ssh2
Nov 25 09:27:11 web01 systemd-logind[611]: New session 42 of user root.
Nov 25 09:27:12 web01 systemd[1]: Started Session 42 of User root.
Nov 25 09:28:01 web01 CRON[2211]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)
Nov 25 09:30:44 web01 kernel: [812345.678] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex
Nov 25 09:31:02 web01 dhclient[800]: DHCPACK of 10.0.0.5 from 10.0.0.1
Nov 25 09:31:05 web01 systemd[1]: Starting Daily apt upgrade and clean activities...
Nov 25 09:31:09 web01 kernel: [812369.001] Out of memory: Killed process 4242 (java)
"""
APACHE = """\
127.0.0.1 - - [25/Nov/2026:09:27:11 +0000] "GET /index.html HTTP/1.1" 200 1043 "-" "curl/8.0"
10.0.0.7 - bob [25/Nov/2026:09:27:12 +0000] "POST /login HTTP/1.1" 302 0 "/" "Mozilla/5.0"
10.0.0.8 - - [25/Nov/2026:09:27:13 +0000] "GET /favicon.ico HTTP/1.1" 404 209 "-" "Mozilla/5.0"
[Wed Nov 25 09:27:14.123456 2026] [core:error] [pid 1234] [client 10.0.0.8:5112] AH00126: Invalid URI
"""


@pytest.mark.parametrize("paste", [SYSLOG, APACHE], ids=["syslog", "apache"])
def test_unrelated_logs_get_no_confident_match(client, paste: str) -> None:
    body = match(client, paste)
    assert all(m["confidence"] < 0.5 for m in body["matches"])
    if not body["matches"]:
        assert body["hint"]


def test_an_hresult_spelled_differently_still_matches_and_is_named(client) -> None:
    line = "Inventory Agent failed to write the cache file, error -2147024891"
    top = client.get("/v1/match", query_string={"line": line}).get_json()["matches"][0]
    assert top["issue_id"] == "900001-1"
    [code] = top["error_codes"]
    assert code["code"] == "-2147024891"
    assert (code["kind"], code["name"]) == ("hresult", "E_ACCESSDENIED")
    assert "access" in code["meaning"].lower()


def seed_log(first: str, last: str) -> str:
    """A log the seed article quotes, from its line starting `first` to before `last`."""
    text = SEED_TEXT.read_text()
    start = text.index(first)
    return text[start : text.index(last, start)]


@pytest.mark.parametrize(
    ("paste", "code", "name"),
    [
        (seed_log("No COMPVER.INI", "SMSCLI.LOG"), "5", "ERROR_ACCESS_DENIED"),
        (seed_log("ERROR: The Client Service", "CLICORE.LOG"), "0x5", "ERROR_ACCESS_DENIED"),
        (seed_log("Client core file version", "Issue 2"), "123", "ERROR_INVALID_NAME"),
        # Padded with a zero, as some logs write codes
        (
            "ERROR: Unable to open the service control manager to install the SMS Client "
            "Service and CCIM. Win32 Error: 05",
            "05",
            "ERROR_ACCESS_DENIED",
        ),
    ],
    ids=["Wn_logon", "Clisvc", "Ccim32", "zero-padded"],
)
def test_the_seed_logs_error_codes_are_named(client, paste: str, code: str, name: str) -> None:
    top = match(client, paste)["matches"][0]
    assert top["issue_id"] == "264630-1"
    assert {"code": code, "kind": "win32", "name": name} in [
        {k: c[k] for k in ("code", "kind", "name")} for c in top["error_codes"]
    ]


def test_product_filter_narrows_matches(client) -> None:
    line = ISSUE1_LINES[5]
    assert match(client, line, product="Systems Management Server")["matches"]
    assert match(client, line, product="Test Product")["matches"] == []
    assert match(client, line, version="2.0 SP1")["matches"]
    assert match(client, line, version="9.9")["matches"] == []


def test_json_body_and_query_limit(client) -> None:
    paste = "\n".join(ISSUE1_LINES[:6])
    response = client.post("/v1/match", json={"log": paste, "limit": 1})
    assert response.status_code == 200
    assert len(response.get_json()["matches"]) == 1
    response = client.post("/v1/match?limit=1", data=paste, content_type="text/plain")
    assert len(response.get_json()["matches"]) == 1


def test_curl_default_content_type_is_read_as_the_log(client) -> None:
    # what `curl --data-binary @file` sends without -H
    response = client.post(
        "/v1/match",
        data="\n".join(ISSUE1_LINES[:3]).encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.get_json()["matches"][0]["issue_id"] == "264630-1"


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.replace("\n", "\r\n").encode(),
        lambda t: codecs.BOM_UTF8 + t.encode(),
        lambda t: codecs.BOM_UTF16_LE + t.replace("\n", "\r\n").encode("utf-16-le"),
    ],
    ids=["crlf", "utf8-bom", "utf16-bom"],
)
def test_windows_encodings_and_line_endings(client, encode) -> None:
    text = "\n".join(ISSUE1_LINES[:4]) + "\n"
    response = client.post("/v1/match", data=encode(text), content_type="text/plain")
    body = response.get_json()
    assert body["lines_read"] == 4
    assert body["matches"][0]["issue_id"] == "264630-1"


def test_cmtrace_formatted_lines_match(client) -> None:
    paste = "\n".join(
        f'<![LOG[{line}]LOG]!><time="14:22:53.512+480" date="07-26-2001" component="CCIM32" '
        f'context="" type="1" thread="1600" file="ccim32.cpp:120">'
        for line in ISSUE1_LINES[-6:-3]
    )
    body = match(client, paste)
    assert body["format"] == "cmtrace"
    assert body["matches"][0]["issue_id"] == "264630-1"


def test_nothing_matched_is_a_200_with_a_hint(client) -> None:
    body = match(client, "hello\nworld\n")
    assert body["matches"] == []
    assert body["unmatched_lines"] == 2
    assert "hint" in body


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": b"", "content_type": "text/plain"}, 400),
        ({"data": b"   \n  ", "content_type": "text/plain"}, 400),
        ({"data": b"\xff\xfeabc"[2:] + b"\xff", "content_type": "text/plain"}, 400),
        ({"data": b"{not json", "content_type": "application/json"}, 400),
        ({"json": ["a list"]}, 400),
        ({"json": {"limit": 3}}, 422),
        ({"json": {"log": "x", "limit": 0}}, 422),
        ({"json": {"log": "x", "colour": "red"}}, 422),
        ({"json": {"log": "x", "detail": "short"}}, 422),
        ({"data": b"x", "content_type": "text/plain", "query_string": {"detail": "all"}}, 400),
        ({"data": b"x", "content_type": "image/png"}, 415),
        ({"data": b"x", "content_type": "multipart/mixed; boundary=x"}, 415),
    ],
)
def test_bad_pastes_get_clear_errors(client, kwargs, status: int) -> None:
    response = client.post("/v1/match", **kwargs)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]


def test_a_body_over_the_limit_is_413(make_app) -> None:
    app = make_app(max_body_bytes=1024)
    response = app.test_client().post("/v1/match", data=b"x" * 4096, content_type="text/plain")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_search_finds_articles_by_their_words_with_snippets(client) -> None:
    body = client.get("/v1/search", query_string={"q": "Copylog.tcf mixed installation"}).get_json()
    assert body["results"][0]["article_id"] == "264630"
    assert "**" in body["results"][0]["snippet"]
    # query syntax in user text is taken literally, not parsed
    weird = client.get("/v1/search", query_string={"q": 'title:"(AND OR* ?'})
    assert weird.status_code == 200


# Issue 2 in a user's own words, naming SMS and advertisements: words that stem to "sm" and
# "advertis", which no person should be shown.
OWN_WORDS = (
    "Since we upgraded one SMS site to SP2 the old SP1 site keeps trying to remotely install "
    "its client on computers that already run SP2. Software advertisements never reach those "
    "clients and some of them look orphaned."
)
# The seed pastes a person would send: a Ccim32.log excerpt, and every log line of issue 1.
SEED_PASTES = {"ccim32-excerpt": SEED_LINES, "issue-1-lines": "\n".join(ISSUE1_LINES)}


def test_a_sure_match_says_so_and_why(client) -> None:
    top = match(client, SEED_LINES)["matches"][0]
    assert (top["issue_id"], top["certainty"]) == ("264630-1", "sure")
    assert top["confidence"] >= 0.5
    assert top["confidence_reason"] == "2 lines matched (2 exact), said by this issue alone"
    # Absolute, at the address the request reached the service by.
    assert top["page_url"] == "http://localhost/issues/264630-1"


def test_a_match_below_half_confidence_says_not_sure_and_why(client) -> None:
    matches = match(client, OWN_WORDS)["matches"]
    assert matches and all(m["confidence"] < 0.5 for m in matches)
    assert {m["certainty"] for m in matches} == {"not sure"}
    reason = matches[0]["confidence_reason"]
    assert reason.startswith("no log line matched; its text covers ")
    # The words that counted, as written ("SMS", whose stem is "sm").
    assert "SMS" in reason.split("(")[1]


def test_words_are_shown_as_the_paste_writes_them_never_stemmed(client) -> None:
    top = match(client, OWN_WORDS)["matches"][0]
    assert {"SMS", "remotely", "orphaned"} <= set(top["matched_terms"])
    stems = re.compile(r"\b(sm|remot|orphan|advertis|softwar)\b")
    assert not stems.search(top["confidence_reason"])
    for accept in ("text/markdown", "text/plain"):
        text = client.post(
            "/v1/match", data=OWN_WORDS, content_type="text/plain", headers={"Accept": accept}
        ).get_data(as_text=True)
        assert "remotely, reach, orphaned" in text, accept
        assert not stems.search(text), accept


@pytest.mark.parametrize("accept", ["text/markdown", "text/plain"])
def test_renderings_say_not_sure_for_such_a_match(client, accept: str) -> None:
    for detail in ("full", "brief"):
        text = client.post(
            "/v1/match",
            data=OWN_WORDS,
            content_type="text/plain",
            headers={"Accept": accept},
            query_string={"detail": detail},
        ).get_data(as_text=True)
        assert "not sure" in text, detail
        assert "no log line matched" in text, detail


def test_a_brief_answer_gives_how_sure_why_the_fixes_and_the_page(client) -> None:
    paste = "\n".join(ISSUE1_LINES)
    full = match(client, paste)["matches"][0]
    body = match(client, paste, detail="brief")
    assert body["detail"] == "brief"
    top = body["matches"][0]
    # The same issue, as sure, ranked the same: only the presentation differs.
    for key in ("issue_id", "score", "confidence", "certainty", "confidence_reason", "page_url"):
        assert top[key] == full[key]
    assert len(top["matched_lines"]) == 3
    assert [m["line"] for m in top["matched_lines"]] == sorted(
        m["line"] for m in top["matched_lines"]
    )
    assert set(top) >= {"fixes", "links", "error_codes"}
    assert not set(top) & {"causes", "remediation", "related_articles"}
    # The error codes of the lines shown, decoded as in the full answer.
    shown = {m["text"] for m in top["matched_lines"]}
    assert [c["code"] for c in top["error_codes"]] == [
        c["code"] for c in full["error_codes"] if any(c["code"] in text for text in shown)
    ]
    fixes = {fix["title"]: fix["steps"] for fix in top["fixes"]}
    assert [w["title"] for w in full["remediation"]] == list(fixes)
    steps = fixes["Remotely edit Copylog.tcf on the PDC to point Clicore.exe at the SP2 site"]
    assert steps[1] == (
        "Change the permissions on the Copylog.tcf file to Read Only and assign Full Control "
        "permission..."
    )
    assert all(len(step) <= 100 for fix in top["fixes"] for step in fix["steps"])


def test_full_is_the_default_detail(client) -> None:
    body = match(client, SEED_LINES)
    assert body["detail"] == "full"
    assert body["matches"][0]["remediation"]
    line = client.get("/v1/match", query_string={"line": ISSUE1_LINES[0], "detail": "brief"})
    assert line.get_json()["matches"][0]["fixes"]


def test_the_query_detail_wins_over_the_bodys(client) -> None:
    response = client.post(
        "/v1/match?detail=full", json={"log": SEED_LINES, "detail": "brief", "limit": 1}
    )
    assert response.get_json()["detail"] == "full"
    response = client.post("/v1/match", json={"log": SEED_LINES, "detail": "brief"})
    assert response.get_json()["detail"] == "brief"


@pytest.mark.parametrize("paste", SEED_PASTES.values(), ids=SEED_PASTES.keys())
def test_a_brief_markdown_answer_of_a_seed_paste_fits_in_1_5_kb(client, paste: str) -> None:
    response = client.post(
        "/v1/match?detail=brief",
        data=paste,
        content_type="text/plain",
        headers={"Accept": "text/markdown"},
    )
    text = response.get_data(as_text=True)
    assert re.search(r"^KB264630 issue 264630-1, confidence (0\.\d\d|1\.00), sure: ", text, re.M)
    assert "More: http://localhost/issues/264630-1" in text
    assert len(response.get_data()) <= 1536


def test_a_knowledge_base_without_articles_answers_that_nothing_matched(tmp_path) -> None:
    """A store with no article yet (an index with no segment): a line, a misspelt one and a log
    are answered with no match and the hint, never a 500."""
    config = make_config(tmp_path, with_test_articles=False)
    for path in config.kb_data.glob("*.yaml"):
        path.unlink()
    with running_app(config) as empty:
        client = empty.test_client()
        for response in (
            client.get("/v1/match", query_string={"line": "Unable to conect to the server"}),
            client.post("/v1/match", data=SEED_LINES, content_type="text/plain"),
        ):
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["matches"] == []
            assert response.get_json()["hint"]

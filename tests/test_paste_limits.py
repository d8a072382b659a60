"""What a paste may be, and what it may cost, through HTTP: declared charsets, bodies sent in
chunks, the time one match is given, and pastes built to be as costly as the limits allow.

The worst-case pastes are answered by an app without a time budget, under an alarm of
ANSWER_SECONDS: not a speed test (`make bench` and bench/bench_worst.py measure speed), but a
bound more than ten times what they take here and far below what they took while patterns were
quadratic and lines were read before they were cut (minutes each).
"""

from __future__ import annotations

import codecs
import io

import pytest

from tests.helpers import make_config, running_app
from tests.test_contract import assert_conforms
from tests.test_parse_cost import ends_within

SEED_LINE = "Trying to open IPC connection with APM...  CCIM32"
TOKEN = "paste-limits-token"
ANSWER_SECONDS = 30.0
MAX_LINE = 10_000
MAX_BODY = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def unbudgeted(tmp_path_factory: pytest.TempPathFactory):
    """The default limits, no time budget (so every paste is matched whole), writes on."""
    config = make_config(tmp_path_factory.mktemp("unbudgeted"), api_tokens=[TOKEN])
    with running_app(config) as app:
        yield app


@pytest.fixture(scope="module")
def small_body(tmp_path_factory: pytest.TempPathFactory):
    """A 64 KiB body limit."""
    with running_app(
        make_config(tmp_path_factory.mktemp("small-body")), max_body_bytes=65_536
    ) as app:
        yield app


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory):
    """A time budget of 1 ms, which no paste of some size stays under."""
    with running_app(make_config(tmp_path_factory.mktemp("tight")), match_budget_ms=1) as app:
        yield app


# -- charsets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "charset", ["punycode", "idna", "x-no-such-charset", "rot13", "zlib_codec", "utf-7", "b" * 500]
)
def test_a_charset_outside_the_allowed_ones_is_a_415_naming_them(client, charset: str) -> None:
    response = client.post(
        "/v1/match",
        data=SEED_LINE.encode(),
        content_type=f"text/plain; charset={charset}",
    )
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert "UTF-8" in body["detail"] and "windows-1252" in body["detail"]
    assert body["errors"][0]["field"] == "charset"
    assert len(body["detail"]) < 600
    assert_conforms("post", "/v1/match", response)


def test_an_import_in_a_charset_not_allowed_is_a_415_too(unbudgeted) -> None:
    response = unbudgeted.test_client().post(
        "/v1/articles/import",
        data=b"SMS: Example Article (900200)\n\nSYMPTOMS\n\nThe agent stops.\n",
        content_type="text/plain; charset=punycode",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 415
    assert "Shift_JIS" in response.get_json()["detail"]
    assert_conforms("post", "/v1/articles/import", response)


ALLOWED = [
    ("utf-8", "utf-8", "UTF-8"),
    ("UTF8", "utf-8", "UTF8"),
    ("us-ascii", "ascii", "US-ASCII"),
    ("utf-16", "utf-16", "UTF-16 with a BOM"),
    ("utf-16", "utf-16-be", "UTF-16 big-endian without a BOM"),
    ("utf-16le", "utf-16-le", "UTF-16LE"),
    ("UTF-16BE", "utf-16-be", "UTF-16BE"),
    ("utf-32", "utf-32", "UTF-32 with a BOM"),
    ("utf-32", "utf-32-be", "UTF-32 big-endian without a BOM"),
    ("utf-32le", "utf-32-le", "UTF-32LE"),
    ("utf-32be", "utf-32-be", "UTF-32BE"),
    ("windows-1252", "cp1252", "windows-1252"),
    ("ISO-8859-1", "latin-1", "ISO-8859-1"),
    ("latin1", "latin-1", "latin1"),
    ("cp437", "cp437", "cp437"),
    ("IBM850", "cp850", "IBM850"),
    ("shift_jis", "shift_jis", "Shift_JIS"),
]
UNDECLARED = [
    (codecs.BOM_UTF32_LE + SEED_LINE.encode("utf-32-le"), "UTF-32LE with a BOM"),
    (codecs.BOM_UTF32_BE + SEED_LINE.encode("utf-32-be"), "UTF-32BE with a BOM"),
    (SEED_LINE.encode("utf-32-le"), "UTF-32LE without a BOM"),
    (SEED_LINE.encode("utf-16-be"), "UTF-16BE without a BOM"),
]


@pytest.mark.parametrize(
    ("charset", "body"),
    [pytest.param(c, SEED_LINE.encode(codec), id=name) for c, codec, name in ALLOWED]
    + [pytest.param(None, body, id=f"no charset, {name}") for body, name in UNDECLARED],
)
def test_the_allowed_charsets_are_read_with_or_without_a_bom(
    client, charset: str | None, body: bytes
) -> None:
    content_type = f"text/plain; charset={charset}" if charset else "text/plain"
    response = client.post("/v1/match", data=body, content_type=content_type)
    assert response.status_code == 200
    assert response.get_json()["matches"][0]["article_id"] == "264630"


def test_a_json_paste_is_read_as_json_whatever_charset_its_type_names(client) -> None:
    response = client.post(
        "/v1/match",
        data=b'{"log": "' + SEED_LINE.encode() + b'"}',
        content_type="application/json; charset=punycode",
    )
    assert response.status_code == 200


# -- bodies sent in chunks -----------------------------------------------------------------


def post_chunked(app, path: str, body: bytes):
    """POST as a server hands on a chunked upload: no Content-Length, the stream terminated."""
    return app.test_client().post(
        path,
        input_stream=io.BytesIO(body),
        content_type="text/plain",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_a_413_not_a_paste_cut_short(small_body) -> None:
    response = post_chunked(small_body, "/v1/match", (SEED_LINE + "\n").encode() * 2_000)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert_conforms("post", "/v1/match", response)


def test_a_chunked_body_within_the_limit_is_matched_whole(unbudgeted) -> None:
    lines = [f"routine line number {n}" for n in range(3_000)] + [SEED_LINE]
    response = post_chunked(unbudgeted, "/v1/match", "\n".join(lines).encode())
    assert response.status_code == 200
    body = response.get_json()
    assert body["lines_read"] == 3_001
    assert body["matches"][0]["article_id"] == "264630"


# -- the time one match is given -----------------------------------------------------------


def distinct_lines(count: int) -> str:
    return "\n".join(
        f"Component {n} failed to start service {n * 7} on host H{n}" for n in range(count)
    )


def test_a_paste_costlier_than_the_time_budget_is_a_413_saying_what_to_do(tight) -> None:
    response = tight.test_client().post(
        "/v1/match", data=distinct_lines(1_000), content_type="text/plain"
    )
    assert response.status_code == 413
    detail = response.get_json()["detail"]
    assert "KB_MATCH_BUDGET_MS" in detail and "send fewer lines" in detail
    assert_conforms("post", "/v1/match", response)


def test_feedback_with_a_paste_over_the_budget_is_a_413_too(tight) -> None:
    response = tight.test_client().post(
        "/v1/feedback",
        json={"log": distinct_lines(1_000), "issue_id": "264630-1", "helpful": True},
    )
    assert response.status_code == 413
    assert "KB_MATCH_BUDGET_MS" in response.get_json()["detail"]


# -- pastes as costly as the limits allow --------------------------------------------------


def up_to_the_body_limit(line_of) -> str:
    """As many lines made by `line_of(n)` as fit in the 2 MiB body."""
    lines, size = [], 0
    while True:
        line = line_of(len(lines))
        size += len(line.encode()) + 1
        if size > MAX_BODY - 1024:
            return "\n".join(lines)
        lines.append(line)


WORST_CASES = {
    "spaces before a broken SMS trailer": lambda: up_to_the_body_limit(
        lambda n: f"e{n}" + " " * (MAX_LINE - 40) + "$$<CCIM32><t><thread=1"
    ),
    "a 400 KB line of spaces before an SMS trailer": lambda: (
        "Trying to open" + " " * 400_000 + "$$<CCIM32><Thu Jul 26><thread=1600"
    ),
    "letters after a CMTrace record": lambda: up_to_the_body_limit(
        lambda n: f"<![LOG[record {n}]LOG]!>" + "a" * (MAX_LINE - 30)
    ),
    "a 400 KB CMTrace line of letters": lambda: "<![LOG[Trying to open]LOG]!>" + "a" * 400_000,
    "a banner of spaces": lambda: up_to_the_body_limit(lambda n: f"-- {n}" + " " * MAX_LINE),
    "long unknown words in a short paste": lambda: "\n".join(
        f"Trying to open connection {n} " + "qwertzuiop" * (MAX_LINE // 10 - 5) for n in range(20)
    ),
}


@pytest.mark.parametrize("make", list(WORST_CASES.values()), ids=list(WORST_CASES))
def test_worst_case_pastes_are_answered_with_their_long_lines_cut(unbudgeted, make) -> None:
    paste = make()
    with ends_within(ANSWER_SECONDS, "the paste"):
        response = unbudgeted.test_client().post(
            "/v1/match", data=paste.encode(), content_type="text/plain"
        )
    assert response.status_code == 200
    body = response.get_json()
    long_lines = [n for n, line in enumerate(paste.split("\n"), 1) if len(line) > MAX_LINE]
    assert body["truncated_lines"] == long_lines

"""The evaluation's query generator, on small articles written for these tests.

The generator must find what an article quotes by its own rules; these tests pin the rules down
without the archives: quoted lines found, wrapped ones re-joined, steps and tables left alone,
halves stable, typos exactly one edit away.
"""

from __future__ import annotations

import random
import re

import pytest

from bench.eval_queries import (
    KINDS,
    Corpus,
    Quoted,
    build_queries,
    half_of,
    is_quotable,
    load_corpus,
    make_query,
    misspell,
    normal_form,
    parse_article,
    quoted_lines,
    vary,
)


def raw_article(number: str, body: str, title: str = "Test article") -> str:
    """An archive member's text: front matter, header fields, a tab-indented body, a footer."""
    lines = [
        "Article: Q" + number,
        "Product(s): Example Server",
        "Version(s): 1.0",
        "Last Modified: 01-JAN-2001",
        "",
        "-" * 60,
        "The information in this article applies to:",
        "",
        "- Example Server version 1.0",
        "-" * 60,
        "",
        *body.strip("\n").splitlines(),
        "",
        "Additional query words: quoted footer words here",
        "",
        "=" * 60,
        "Keywords          : kbexample",
    ]
    tabbed = "\n".join("\t" + line for line in lines)
    return f'---\ntitle: "Q{number}: {title}"\n---\n\n{{% raw %}}\n\n{tabbed}\n\n{{% endraw %}}\n'


def quoted_texts(body: str, number: str = "1001") -> list[str]:
    return [q.text for q in quoted_lines(parse_article(number, raw_article(number, body)))]


def test_header_and_footer_are_not_body_lines():
    article = parse_article("1001", raw_article("1001", "SYMPTOMS\n========\n\nSome prose."))
    assert article.title == "Q1001: Test article"
    assert not any(line.startswith(("Article:", "Product(s)")) for line in article.lines)
    assert not any("query words" in line or "kbexample" in line for line in article.lines)
    assert "Some prose." in article.lines


def test_message_in_double_quotes_inside_a_sentence_is_found():
    body = """
SYMPTOMS
========

When the agent starts, you receive the error "Widget spooler could not open the queue
file" and the agent stops.
"""
    assert quoted_texts(body) == ["Widget spooler could not open the queue file"]


def test_indented_message_after_an_introducing_sentence_is_found():
    body = """
After you restart the server, the following error message is displayed:

  The inventory collector failed to read the machine record.

CAUSE
=====
"""
    assert quoted_texts(body) == ["The inventory collector failed to read the machine record."]


def test_hard_wrapped_message_is_rejoined_and_marked_wrapped():
    body = """
The log file contains the following entry:

  Sender could not establish a session with the remote gateway because the
  credentials stored for the address are no longer accepted.
"""
    article = parse_article("1002", raw_article("1002", body))
    (quoted,) = quoted_lines(article)
    assert quoted.text == (
        "Sender could not establish a session with the remote gateway because the"
        " credentials stored for the address are no longer accepted."
    )
    assert quoted.wrapped


def test_sms_trailer_lines_give_their_message_and_component():
    body = """
The loader log shows:

Could not locate the schedule table for the replica  $$<SMS_EXAMPLE_LOADER><Mon Jan 01 10:00:00.000 2001 Eastern Standard Time><thread=12 (0xC)>
"""
    (quoted,) = quoted_lines(parse_article("1003", raw_article("1003", body)))
    assert quoted.text == "Could not locate the schedule table for the replica"
    assert quoted.component == "SMS_EXAMPLE_LOADER"


def test_numbered_steps_and_file_tables_are_not_quoted():
    body = """
To resolve this error, follow these steps:

  1. Stop the widget service on the failing server.
  2. Delete the cached queue files from the spool folder.

The following files are updated and the error no longer occurs:

  Widget.dll   4.10.1998   12-Mar-1999   118,784 bytes
  Spooler.exe  4.10.1998   12-Mar-1999    45,312 bytes
"""
    assert quoted_texts(body) == []


@pytest.mark.parametrize(
    "line",
    [
        "3. Restart the computer after the update.",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Example\\Widget\\Settings",
        "See http://example.com/support for the error list",
        "Dim strName As String = GetWidgetName();",
        "Only two",
    ],
)
def test_non_messages_are_rejected(line):
    assert not is_quotable(line)


def test_boilerplate_quoted_by_many_articles_is_dropped():
    common = 'you receive the error "The widget operation completed with warnings today".'
    rare = 'you receive the error "Spool folder quota for the tenant is exhausted".'
    raws = [
        raw_article(str(2000 + n), "When it fails, " + (rare if n == 0 else common))
        for n in range(22)
    ]
    corpus = load_corpus(parse_article(str(2000 + n), raw) for n, raw in enumerate(raws))
    assert [q.text for q in corpus.quoted["2000"]] == [
        "Spool folder quota for the tenant is exhausted"
    ]
    assert "2001" not in corpus.quoted


def test_halves_are_stable_and_both_used():
    halves = [half_of(str(n)) for n in range(1000, 1200)]
    assert halves == [half_of(str(n)) for n in range(1000, 1200)]
    assert set(halves) == {"tuning", "reporting"}
    assert 60 < halves.count("reporting") < 140


def one_edit_apart(a: str, b: str) -> bool:
    """Whether b is a with one letter dropped, doubled/inserted, replaced, or two swapped."""
    if a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diffs) == 2 and diffs[1] == diffs[0] + 1
        return (
            len(diffs) == 1 or swapped and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    shorter, longer = sorted((a, b), key=len)
    if len(longer) - len(shorter) != 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


@pytest.mark.parametrize("seed", range(40))
def test_a_typo_is_exactly_one_edit_in_a_long_word(seed):
    text = "Widget spooler could not open the queue file"
    typo = misspell(text, random.Random(seed))
    assert one_edit_apart(text, typo)
    changed = [w for w, t in zip(text.split(), typo.split(), strict=True) if w != t]
    assert len(changed) == 1 and len(changed[0]) >= 5


def test_queries_know_every_article_quoting_the_message():
    message = "Spool folder quota for the tenant is exhausted"
    corpus = Corpus(
        quoted={"3001": [Quoted(message)], "3002": [Quoted("Widget queue was not found")]},
        texts={
            "3001": normal_form("The error " + message + " appears."),
            "3002": normal_form("The error Widget queue was not found. Also " + message),
            "3003": normal_form("Nothing related here at all."),
        },
    )
    queries = build_queries(corpus, 10, seed=1)
    for query in queries:
        if query.article_id == "3001":
            assert query.correct == ["3001", "3002"]
    assert {q.kind for q in queries} <= set(KINDS)


def test_same_seed_same_queries():
    corpus = Corpus(
        quoted={"3001": [Quoted("Spool folder quota for the tenant is exhausted", wrapped=True)]},
        texts={"3001": normal_form("Spool folder quota for the tenant is exhausted")},
    )
    first = [q.as_json() for q in build_queries(corpus, 10, seed=5)]
    assert first == [q.as_json() for q in build_queries(corpus, 10, seed=5)]
    assert {q["kind"] for q in first} == set(KINDS)


def test_log_paste_keeps_the_message_among_noise():
    quoted = [Quoted("Spool folder quota for the tenant is exhausted")]
    query = make_query("log", "3001", quoted, random.Random(2))
    assert query is not None
    lines = query.paste.splitlines()
    assert 3 <= len(lines) <= 11
    assert sum("Spool folder quota" in line for line in lines) == 1


def test_instance_data_varies_but_error_codes_stay():
    message = (
        "Error 1069 at 10:22:01: CORP\\bob on \\\\SRV7\\share (148.108.135.255) copied 12 files,"
        " Windows 95/98 clients, thread=1600"
    )
    varied = vary(message, random.Random(4))
    assert varied.startswith("Error 1069 at ")
    assert "CORP\\bob" not in varied and "SRV7" not in varied
    assert re.search(r"\(10\.\d{1,3}\.\d{1,3}\.\d{1,3}\)", varied)
    assert "95/98 clients" in varied
    assert "thread=1600" not in varied


def test_a_server_written_as_a_placeholder_becomes_one_server_name():
    varied = vary("The widget host \\\\<Computer name> did not answer", random.Random(2))
    server = re.fullmatch(r"The widget host \\\\(\S+) did not answer", varied)
    assert server is not None, varied
    assert "<" not in varied and ">" not in varied

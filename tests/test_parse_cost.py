"""Reading a paste costs time linear in its length, whatever the paste is made of.

Every regular expression applied to pasted text (all those of service/normalize.py and
service/article_text.py, found by looking, so a pattern added later is held to this too) and
every function that reads a pasted line is run on runs of 200,000 characters built to make a
backtracking pattern read the run again from each of its positions: whitespace, word
characters, separators, brackets, `$$<`, `<![LOG[` and `]LOG]!>` repeats, quotes. Patterns run
with `findall`, which tries every start position, the most any use of them can cost.

These are not speed tests (speed is what `make bench` measures): each call runs under an alarm
of LIMIT_SECONDS, which is more than ten times what the slowest linear pattern takes on these
inputs here, and less than a tenth of what the quadratic ones took (the SMS trailer search
needed 8 s for 100,000 spaces and the CMTrace attribute scan 60 s for 100,000 letters; twice the
length takes them four times as long). The alarm interrupts a pattern in the middle of its
search, so a quadratic one fails the test in LIMIT_SECONDS instead of running for minutes.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from service import article_text, normalize
from service.matching import rank as ranking
from service.normalize import parse_line, parse_paste

RUN = 200_000
LIMIT_SECONDS = 3.0

ADVERSARIAL = {
    "spaces": " " * RUN + "x",
    "tabs and spaces": " \t" * (RUN // 2) + "x",
    "newlines": "a:\n" * (RUN // 3),
    "word characters": "a" * RUN + "!",
    "capitals": "A" * RUN + "!",
    "digits": "1" * RUN + "x",
    "hex digits": "0x" + "f" * RUN + "g",
    "x run": "x" * RUN + "1",
    "dotted words": "a." * (RUN // 2) + " \\",
    "separators": ".-$_" * (RUN // 4) + "\\",
    "dashed capitals": "A-" * (RUN // 2) + " ",
    "path segments": "a\\" * (RUN // 2),
    "slashes": "/a" * (RUN // 2) + " ",
    "nested brackets": "[(<{" * (RUN // 8) + "}>)]" * (RUN // 8),
    "angle brackets": "<" * (RUN // 2) + ">" * (RUN // 2),
    "placeholders and commas": "<x>" + " ," * (RUN // 2) + "<y>",
    "$$< repeats": "$$<" * (RUN // 3),
    "sms trailer parts": "$$<a><b><thread=" * (RUN // 16),
    "<![LOG[ repeats": "<![LOG[" * (RUN // 7),
    "]LOG]!> repeats": "]LOG]!>" * (RUN // 7),
    "letters after ]LOG]!>": "<![LOG[m]LOG]!>" + "a" * RUN,
    "unclosed attributes": 'a="' * (RUN // 3),
    "double quotes": '"' * RUN,
    "single quotes": " '" * (RUN // 2),
    "quoted words": '"ab cd" ' * (RUN // 8),
    "sentences": "A. " * (RUN // 3),
    "log name then spaces": "a.log" + " " * RUN + "x",
    "word, spaces, component, spaces": "a" + " " * RUN + "AB" + " " * RUN + "x",
    "colon then spaces": "ab:" + " " * RUN + "x",
    "site then spaces": "site ABC" + " " * RUN + "x",
    "server then dashes": "server A" + "-" * RUN + " ",
    "address then dots": "a@" + "b.-" * (RUN // 3),
    "addresses": "a@b." * (RUN // 4),
}


class TookTooLong(BaseException):
    """A call went on past its time. Not an Exception: the app's handler of unexpected errors
    would turn it into a 500 rather than let it end the test with its message."""


@contextmanager
def ends_within(seconds: float, what: str) -> Iterator[None]:
    """Interrupt the enclosed call with TookTooLong once `seconds` of wall time have passed."""

    def expire(signum: int, frame: object) -> None:
        raise TookTooLong(f"{what} took more than {seconds} s: it is not linear")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def patterns_applied_to_pastes() -> dict[str, re.Pattern[str]]:
    """Every compiled pattern of the modules that read pasted text, by module and name."""
    return {
        f"{module.__name__.rsplit('.', 1)[1]}.{name}": value
        for module in (normalize, article_text)
        for name, value in vars(module).items()
        if isinstance(value, re.Pattern)
    }


PATTERNS = patterns_applied_to_pastes()


def runs_linearly(read: Callable[[str], object], what: str) -> None:
    for shape, text in ADVERSARIAL.items():
        with ends_within(LIMIT_SECONDS, f"{what} on {shape}"):
            read(text)


@pytest.mark.parametrize("pattern", list(PATTERNS.values()), ids=list(PATTERNS))
def test_every_pattern_reads_adversarial_runs_in_linear_time(pattern: re.Pattern[str]) -> None:
    runs_linearly(pattern.findall, pattern.pattern)


def test_the_patterns_checked_include_those_of_the_known_attacks() -> None:
    assert {"normalize.SMS_TRAILER", "normalize.CMTRACE_ATTR", "normalize.BANNER_LINE"} <= set(
        PATTERNS
    )


READERS: dict[str, Callable[[str], object]] = {
    "parse_line": parse_line,
    "parse_paste of one line": lambda text: parse_paste(text),
    "parse_paste of many lines": lambda text: parse_paste(text.replace(" ", "\n")),
    "normalize": normalize.normalize,
    "line_signature": normalize.line_signature,
    "simplify": normalize.simplify,
    "is_descriptive": normalize.is_descriptive,
    "looks_like_prose": normalize.looks_like_prose,
    "line_candidates": lambda text: article_text.line_candidates(text, spans=True),
    "the prose analyser": lambda text: list(ranking._prose_analyzer(text)),
}


@pytest.mark.parametrize("reader", list(READERS.values()), ids=list(READERS))
def test_every_reader_of_pasted_lines_takes_linear_time(reader: Callable[[str], object]) -> None:
    # parse_paste is given lines longer than any limit on purpose: it must be linear uncut too.
    runs_linearly(reader, "reading")


SPACES = " " * RUN
TRAILER = "$$<CCIM32><Thu Jul 26 14:22:53.512 2001><thread=1600 (0x640)>"


@pytest.mark.parametrize(
    ("line", "parsed"),
    [
        ("Trying" + SPACES + TRAILER, ("Trying", "CCIM32", "sms2")),
        ("Trying" + SPACES + TRAILER[:-12], ("Trying" + SPACES + TRAILER[:-12], None, "plain")),
        ("Trying to open" + SPACES + "  CCIM32", ("Trying to open", "CCIM32", "plain")),
        (
            '<![LOG[Trying to open]LOG]!><time="1" component="CCIM32" ' + "a" * RUN,
            ("Trying to open", "CCIM32", "cmtrace"),
        ),
    ],
    ids=[
        "spaces before an SMS trailer",
        "spaces before a broken SMS trailer",
        "spaces before a component",
        "letters after a CMTrace record",
    ],
)
def test_the_attacks_found_parse_as_before_in_linear_time(line: str, parsed: tuple) -> None:
    with ends_within(LIMIT_SECONDS, "parse_line"):
        assert parse_line(line) == parsed


def test_lines_are_cut_before_they_are_read_and_reported() -> None:
    long_trailer = "Trying to open" + " " * 50_000 + "$$<CCIM32><t><thread=1>"
    long_cmtrace = "<![LOG[" + "a" * 50_000 + "]LOG]!><time=...>"
    paste = parse_paste(
        "\n".join(["short line", long_trailer, long_cmtrace, "<![LOG[open", "b" * 30, "end"]),
        max_line_chars=100,
    )
    assert paste.truncated == [2, 3]
    assert all(len(line.message) <= 100 for line in paste.lines)
    # The trailer was past the cut: the line is read as plain text, not as SMS 2.0.
    assert paste.lines[1].format == "plain"
    # A record joined from several lines is cut once joined, under its first line's number.
    joined = parse_paste(
        "<![LOG[open\n" + "\n".join(["b" * 60] * 3) + "]LOG]!>", max_line_chars=100
    )
    assert joined.truncated == [1]
    assert len(joined.lines[0].message) == 100


def test_a_misspelt_word_is_not_put_right_when_it_is_too_long_to_be_one() -> None:
    # 54 variants a letter, each as long as the word: a 10,000-letter word made gigabytes.
    assert ranking.TYPO_MAX_LETTERS <= 40
    assert len(ranking.one_edit_variants("a" * ranking.TYPO_MAX_LETTERS)) < 2_000


@pytest.mark.parametrize(
    "line",
    ["".join(f'"w{n} ab" ' for n in range(1_000)), "".join(f"A{n}. " for n in range(1_000))],
    ids=["a thousand quoted messages", "a thousand sentences"],
)
def test_a_line_is_looked_up_in_a_bounded_number_of_pieces(line: str) -> None:
    # Each piece is normalised and looked up: a 10,000-character line of quotes or sentences
    # made over a thousand of each, for every line of a paste.
    candidates = article_text.line_candidates(line, spans=True)
    assert len(candidates) <= 2 + 2 * article_text.MAX_PARTS_PER_LINE

"""Cutting articles into lookup keys, and pasted lines into the keys to look up."""

from __future__ import annotations

import random

from service.article_text import (
    SLOT,
    WHOLE_CANDIDATES_MAX_CHARS,
    _slotted,
    _whole_line_candidates,
    article_lines,
    collapsed,
    line_candidates,
    line_key,
    whole_line_candidates,
)
from service.normalize import normalize


def keys_of(document: dict) -> dict[int, str]:
    return {line.key: line.text for line in article_lines(document)}


def key(text: str) -> int:
    return line_key(normalize(text).signature)


def doc(body: str, **extra) -> dict:
    return {
        "title": "Widget agent stops",
        "issues": [{"id": "900001-1", "number": 1, "title": "Agent stops", "description": ""}],
        "symptoms": [],
        "sections": [{"key": "more_information", "heading": "MORE INFORMATION", "body": body}],
        **extra,
    }


def test_every_line_of_the_article_is_a_key_not_only_symptoms() -> None:
    keys = keys_of(doc("The catalog service writes:\n\nWidget catalog refused the handle"))
    assert key("Widget catalog refused the handle") in keys
    assert key("WIDGET   catalog refused the handle ") in keys


def test_a_message_wrapped_over_two_or_three_lines_is_found_whole() -> None:
    body = (
        "Widget Manager ==> Failed to get control of the semaphore from\n"
        "WIDGETSVC before the timeout\nexpired."
    )
    keys = keys_of(doc(body))
    assert (
        key("Widget Manager ==> Failed to get control of the semaphore from WIDGETSVC") not in keys
    )
    assert (
        key(
            "Widget Manager ==> Failed to get control of the semaphore from WIDGETSVC before the timeout"
        )
        in keys
    )
    assert (
        key(
            "Widget Manager ==> Failed to get control of the semaphore from WIDGETSVC before "
            "the timeout expired."
        )
        in keys
    )


def test_a_placeholder_the_wrap_cut_in_two_is_one_slot_of_the_joined_line() -> None:
    # Not a sentence of its own either: the header line runs into it.
    two = (
        "  WIDGETHOST.EXE - Application Error\n"
        "  The widget call at <address> referenced memory at <memory\n"
        "  address>.\n"
    )
    keys = keys_of(doc(two))
    assert key("The widget call at <address> referenced memory at <memory address>.") in keys
    three = (
        "  WIDGETHOST.EXE - Application Error\n"
        "  WIDGETHOST.EXE reports that the widget call at <address>\n"
        "  referenced the protected memory of the widget host at <memory\n"
        "  address>."
    )
    keys = keys_of(doc(three))
    assert (
        key(
            "WIDGETHOST.EXE reports that the widget call at <address> referenced the protected "
            "memory of the widget host at <memory address>."
        )
        in keys
    )


def test_quoted_text_and_the_text_after_a_lead_in_are_keys_of_their_own() -> None:
    body = 'When you start it, you receive the error "Widget cache is corrupt or missing".\n\n'
    body += "Error message: Cannot reach the widget catalog"
    keys = keys_of(doc(body))
    assert key("Widget cache is corrupt or missing") in keys
    assert key("Cannot reach the widget catalog") in keys


def test_a_message_quoted_across_a_wrap_in_a_long_sentence_is_a_key() -> None:
    # The sentence is too long to be a key itself; the quotation in it is cut by the wrap.
    body = (
        "When you log on to the widget server from a client running the older agent, and the\n"
        "logon script has been set to run the widget installer, a fatal exception error occurs\n"
        'during the "Installing the Widget Agent on this workstation . .\n" phase of the set-up,\n'
        "and the client has to be restarted before anything else can be tried on it again."
    )
    keys = keys_of(doc(body))
    assert key("Installing the Widget Agent on this workstation . .") in keys


def test_an_sms_trailer_wrapped_or_cut_short_does_not_stay_in_the_key() -> None:
    body = (
        "~Widget queue flushed for site ABC  $$<WIDGET_MANAGER><Sat Dec 02 15:16:59\n"
        "1995~><thread=D5>\n"
        "~Widget queue deleted the package 61000012  $$<WIDGET_MANAGER><Fri Oct 15 17:09"
    )
    keys = keys_of(doc(body))
    assert key("Widget queue flushed for site XYZ") in keys
    assert key("Widget queue deleted the package 61000099") in keys


def test_a_record_the_wrap_started_after_a_trailer_is_a_line_of_its_own() -> None:
    # The archive wrapped a log so that the next record starts after the trailer of the last.
    body = (
        "~Widget Err #1007> General widget store error: check the messages from the\n"
        "store.~ $$<WIDGET_MANAGER>...<thread=1720 (0x6B8)> ~Widget Msg\n"
        "#3606> Widget arithmetic overflow occurred.~\n"
        "$$<WIDGET_MANAGER>...<thread=1720 (0x6B8)>"
    )
    keys = keys_of(doc(body))
    assert key("#3606> Widget arithmetic overflow occurred.") in keys
    assert key("Widget Msg #3606> Widget arithmetic overflow occurred.") in keys
    # A record that ended in its trailer is not joined to the next one.
    assert key("store.~ ~Widget Msg") not in keys


def test_lines_of_an_issue_belong_to_that_issue_the_rest_to_the_first() -> None:
    document = doc("General widget catalog text for everyone")
    document["issues"].append(
        {
            "id": "900001-2",
            "number": 2,
            "title": "Second problem",
            "description": "Widget printer spooler lost its queue",
        }
    )
    numbers = {line.key: line.issue_number for line in article_lines(document)}
    assert numbers[key("Widget printer spooler lost its queue")] == 2
    assert numbers[key("General widget catalog text for everyone")] == 1


def test_lines_too_short_to_tell_anything_are_left_out() -> None:
    keys = keys_of(doc("OK\n\nof the\n\nWidget"))
    assert key("OK") not in keys
    assert key("of the") not in keys


def candidate_keys(message: str, spans: bool) -> dict[int, str]:
    return {c.key: c.how for c in line_candidates(message, spans)}


def test_a_known_message_inside_a_longer_line_is_a_contained_candidate() -> None:
    quoted = candidate_keys('Error "Widget cache is corrupt or missing" when booting', False)
    assert quoted[key("Widget cache is corrupt or missing")] == "contained"
    unquoted = candidate_keys("I get Widget cache is corrupt or missing when booting", True)
    assert unquoted[key("Widget cache is corrupt or missing")] == "contained"
    assert key("Widget cache is corrupt or missing") not in candidate_keys(
        "I get Widget cache is corrupt or missing when booting", False
    )


def test_a_value_where_the_article_wrote_a_placeholder_finds_it_through_a_slot() -> None:
    article = keys_of(doc("Could not start <application>. The shared package could not be found."))
    pasted = candidate_keys("Could not start Excel. The shared package could not be found.", True)
    found = [k for k in pasted if k in article]
    assert found and pasted[found[0]] == "slot"


def test_the_span_search_is_bounded_for_long_lines() -> None:
    long_line = " ".join(f"word{i}" for i in range(500))
    assert len(line_candidates(long_line, True)) < 10
    medium = " ".join(f"word{i}" for i in range(40))
    assert len(line_candidates(medium, True)) < 1000


def test_a_slot_next_to_a_placeholder_of_the_paste_is_one_slot_as_the_article_writes_it() -> None:
    # The article names one value where the log has two in a row ("at <x> in <x>" against
    # "at 0x0040a3f1 0x77e8 in <path> setup.exe"): the slot and the placeholders beside it
    # collapse into one, however many tokens the slot covers.
    article = keys_of(doc("The widget failed at <address> in setup.exe with status 7"))
    for pasted in (
        "The widget failed at 0x0040a3f1 0x77e8 in setup.exe with status 7",
        "The widget failed at 1998-12-15 0x0040a3f1 in setup.exe with status 7",
        "The widget failed at SRV01 in setup.exe with status 7",
    ):
        found = [k for k, how in candidate_keys(pasted, True).items() if k in article]
        assert found, pasted


def test_slot_runs_are_joined_as_collapsing_each_whole_line_would_make_them() -> None:
    # The slot variants are joined from collapsed heads and tails: on every short line of
    # words and placeholders, the same texts in the same order as collapsing each variant.
    rng = random.Random(7)
    tokens = ["a", "b", SLOT, "<path>", SLOT, "<num>"]
    for _ in range(5000):
        source = tuple(rng.choice(tokens) for _ in range(rng.randint(1, 8)))
        expected = [
            collapsed([*source[:start], SLOT, *source[start + size :]])
            for size in (1, 2, 3)
            for start in range(len(source) - size + 1)
        ]
        assert list(_slotted(source)) == expected, source


def test_kept_whole_line_candidates_are_the_same_and_a_caller_cannot_change_them() -> None:
    line = "Widget catalog refused the handle 0x80070005 on SRV01"
    first = whole_line_candidates(line)
    assert first == line_candidates(line, spans=False)
    first.append(first[0])
    assert whole_line_candidates(line) == line_candidates(line, spans=False)


def test_long_lines_are_not_kept_so_pastes_cannot_fill_the_memory() -> None:
    _whole_line_candidates.cache_clear()
    long_line = "Widget catalog refused the handle " + "x" * WHOLE_CANDIDATES_MAX_CHARS
    assert whole_line_candidates(long_line) == line_candidates(long_line, spans=False)
    assert _whole_line_candidates.cache_info().currsize == 0
    whole_line_candidates("Widget catalog refused the handle")
    assert _whole_line_candidates.cache_info().currsize == 1

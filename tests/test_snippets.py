"""Snippets of PostgreSQL search hits: the words around the first match, the query's in bold."""

from __future__ import annotations

import itertools
import string

from service.storage.snippets import LEAD_WORDS, MAX_WORDS, MIN_WORDS, SCAN_CHARS, snippet, stem


def bold_words(text: str) -> list[str]:
    return text.split("**")[1::2]


def test_the_query_words_are_bold_as_written_whatever_their_ending() -> None:
    text = "The client failed to install. Clients that fail again are logged; failing ones too."
    shown = snippet(text, ["client", "failing"])
    assert bold_words(shown) == ["client", "failed", "Clients", "fail", "failing"]
    # Words are only marked, never changed: without the marks it is the text itself.
    assert shown.replace("**", "") == text.rstrip(".")


def test_a_word_inside_a_file_name_is_found_as_the_index_finds_it() -> None:
    # The search index reads copylog.tcf as two words, so a snippet marks both.
    shown = snippet("Edit the Copylog.tcf file on the server.", ["copylog", "tcf"])
    assert "**Copylog**.**tcf**" in shown


def test_a_match_far_into_a_long_text_is_shown_with_the_words_before_it() -> None:
    filler = "The gadget hums along quietly and does what it should. " * 200
    text = filler + "Then the flux capacitor overheated at 88 miles per hour. " + filler
    shown = snippet(text, ["flux", "capacitor"])
    assert "**flux** **capacitor** overheated" in shown
    words = shown.replace("**", "").split()
    assert len(words) <= MAX_WORDS
    # A few words before it, so that it is read in its sentence.
    assert words[: LEAD_WORDS + 1] == ["it", "should.", "Then", "the", "flux"]


def test_the_window_holds_the_most_query_words_near_the_first() -> None:
    text = (
        "Inventory alone here. "
        + "Unrelated words fill this part of the text for a while now. " * 3
        + "Hardware inventory agent failed on the client."
    )
    shown = snippet(text, ["hardware", "inventory", "agent"])
    assert bold_words(shown) == ["Hardware", "inventory", "agent"]


def test_a_text_without_the_words_shows_its_start() -> None:
    text = "When you apply Service Pack 2 for Systems Management Server, setup asks to restart."
    shown = snippet(text, ["uninstall"])
    assert "**" not in shown
    assert shown.split() == text.split()[:MIN_WORDS]
    assert snippet("", ["anything"]) == ""
    assert snippet("Some text.", []) == "Some text"


def test_letters_that_change_length_when_lower_cased_keep_their_place() -> None:
    # "İ" lower-cases to two characters: places found in the lower-cased text would be off.
    text = "İİİ İstanbul office: the client could not connect to the site server."
    shown = snippet(text, ["client", "connect"])
    assert bold_words(shown) == ["client", "connect"]


def test_words_chosen_to_make_every_word_a_candidate_cost_a_bounded_scan() -> None:
    # Anyone may search: a query whose words start as every word of a long text does, without
    # being any of them, makes each word one to stem. Only the first SCAN_CHARS characters are
    # looked at, each distinct word stemmed once.
    letters = itertools.product(string.ascii_lowercase, repeat=4)
    text = " ".join("con" + "".join(four) for four in itertools.islice(letters, 60_000))
    assert len(text) > 20 * SCAN_CHARS
    stem.cache_clear()
    shown = snippet(text, ["conq"] * 40)
    assert shown.split() == text.split()[:MIN_WORDS]
    scanned = len(set(text[:SCAN_CHARS].split()))
    assert stem.cache_info().misses <= scanned + 1

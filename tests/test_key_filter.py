"""The bit filter in front of the line index: it may let an absent key through, never stop a
key the index holds, whatever happened to the file since a reader mapped it."""

from __future__ import annotations

import random
import sqlite3
from array import array
from pathlib import Path

import pytest

from service import index as index_module
from service.kb import KnowledgeBase
from service.storage import key_filter
from service.storage import lines as line_index
from tests.helpers import widget_article
from tests.test_line_index import key, knowledge_base, rebuilt_with_one_widget


def random_keys(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.getrandbits(64) - 2**63 for _ in range(count)]


def lines_table(tmp_path: Path, keys: list[int]) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "lines.sqlite3")
    conn.executescript(line_index.SCHEMA)
    add_rows(conn, 1, keys)
    return conn


def add_rows(conn: sqlite3.Connection, article_id: int, keys: list[int]) -> None:
    line_index._add_article(conn, "lines", article_id, array("q", keys), [1] * len(keys))


def test_every_key_written_passes_and_nearly_every_other_is_stopped(tmp_path: Path) -> None:
    held, absent = random_keys(20_000, 1), random_keys(20_000, 2)
    path = tmp_path / "lines.filter"
    key_filter.write(path, held, len(held))
    reader = key_filter.FilterReader()
    assert reader.maybe_held(path, held) == held
    passed = reader.maybe_held(path, absent)
    # Two bits of at least 16 per key: well under 1% of absent keys pass.
    assert len(passed) < len(absent) / 100


def line_index_with_filter(
    tmp_path: Path, keys: list[int]
) -> tuple[sqlite3.Connection, Path, key_filter.FilterReader]:
    """A line index of `keys`, its filter, and a reader that has read the filter once."""
    conn = lines_table(tmp_path, keys)
    path = tmp_path / "lines.filter"
    key_filter.write(path, keys, len(keys))
    reader = key_filter.FilterReader()
    assert reader.maybe_held(path, keys) == keys
    return conn, path, reader


def test_keys_added_pass_and_a_full_filter_is_made_again_larger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(key_filter.time, "monotonic", lambda: clock[0])
    first = random_keys(1_000, 3)
    conn, path, reader = line_index_with_filter(tmp_path, first)
    size = path.stat().st_size
    absent = random_keys(10_000, 99)
    # Far more keys than the filter was sized for, added the way an import into a served
    # store adds them: in batches, each let through before its rows are committed.
    added: list[int] = []
    for batch in range(20):
        keys = random_keys(5_000, 100 + batch)
        add_rows(conn, 2 + batch, keys)
        key_filter.add(path, keys, lambda: key_filter.line_index_keys(conn))
        added += keys
        assert reader.maybe_held(path, keys) == keys
    assert path.stat().st_size > size
    # The reader looks at the file at most once a second: until then it reads the filter it
    # had, which lets every key through since it was replaced; then the new one, which stops
    # nearly every absent key again.
    assert reader.maybe_held(path, absent) == absent
    clock[0] += key_filter.RECHECK_SECONDS
    assert reader.maybe_held(path, first + added) == first + added
    assert len(reader.maybe_held(path, absent)) < 100


def test_a_reader_of_a_replaced_filter_lets_every_key_through(tmp_path: Path) -> None:
    # A reader that mapped the filter before it was made again larger may look at the old file
    # once more before it sees the new one: the keys added with the new file must pass there.
    conn, path, reader = line_index_with_filter(tmp_path, random_keys(1_000, 4))
    old_view = reader._open[path][1]
    later = random_keys(200_000, 5)
    key_filter.add(path, later, lambda: key_filter.line_index_keys(conn))
    assert all(byte == 0xFF for byte in old_view[key_filter.HEADER.size :])


def test_without_a_filter_every_key_is_looked_up(tmp_path: Path) -> None:
    reader = key_filter.FilterReader()
    keys = random_keys(100, 6)
    assert reader.maybe_held(tmp_path / "none.filter", keys) == keys
    garbage = tmp_path / "garbage.filter"
    garbage.write_bytes(b"not a filter at all")
    assert reader.maybe_held(garbage, keys) == keys


def test_an_index_without_a_filter_gets_one_at_its_next_write(tmp_path: Path) -> None:
    # An index written before the filter existed still answers, and its next update makes
    # the filter from all its keys, the old ones included.
    kb = rebuilt_with_one_widget(tmp_path)
    lines_path = line_index.lines_file(kb.index.path, kb.index.current_name())
    filter_path = key_filter.filter_path(lines_path)
    assert filter_path.exists()
    filter_path.unlink()
    assert key("Gizmo spooler lost its queue") in kb.index.articles_saying(
        [key("Gizmo spooler lost its queue")]
    )
    kb.save_article(widget_article("910102", "Sprocket cache overflowed twice"), "api")
    assert filter_path.exists()
    found = kb.index.articles_saying(
        [key("Gizmo spooler lost its queue"), key("Sprocket cache overflowed twice")]
    )
    assert set(found) == {
        key("Gizmo spooler lost its queue"),
        key("Sprocket cache overflowed twice"),
    }
    kb.close()


def test_articles_written_one_by_one_after_a_rebuild_are_found(tmp_path: Path) -> None:
    kb = knowledge_base(tmp_path)
    kb.index.rebuild(kb.store)
    texts = [f"Gizmo number {n} spooler lost queue {n}x" for n in range(60)]
    for n, text in enumerate(texts):
        kb.save_article(widget_article(f"9103{n:02d}", text), "api")
    found = kb.index.articles_saying([key(text) for text in texts])
    assert len(found) == len(texts)
    kb.close()


def test_a_start_on_an_index_without_a_filter_makes_one(tmp_path: Path) -> None:
    kb = rebuilt_with_one_widget(tmp_path)
    lines_path = line_index.lines_file(kb.index.path, kb.index.current_name())
    filter_path = key_filter.filter_path(lines_path)
    filter_path.unlink()
    kb.ensure_ready()
    assert filter_path.exists()
    reader = key_filter.FilterReader()
    assert reader.maybe_held(filter_path, [key("Gizmo spooler lost its queue")])
    kb.close()


def symptom_terms(kb: KnowledgeBase) -> set[str]:
    with kb.index.open().reader() as reader:
        return {term.decode() for term in reader.lexicon("terms")}


def with_symptom(number: str, line: str) -> dict:
    article = widget_article(number, line)
    article["symptoms"] = [
        {"id": f"{number}-s1", "issue_id": f"{number}-1", "kind": "log_line", "text": line}
    ]
    return article


def test_symptom_terms_the_index_has_pass_its_filter_and_others_do_not(tmp_path: Path) -> None:
    kb = knowledge_base(tmp_path)
    kb.store.save_article(with_symptom("910101", "Gizmo spooler lost its queue"), "imported")
    kb.index.rebuild(kb.store)
    kb.save_article(with_symptom("910102", "Sprocket cache overflowed twice"), "api")
    caches = kb.index.reading().caches
    reader = kb.index.searcher().reader()
    terms = symptom_terms(kb)
    assert {"sprocket", "gizmo"} <= terms
    # Every term a symptom has is found as before, the one written after the rebuild too.
    for term in terms:
        assert not caches._absent("terms", term)
        assert caches.doc_frequency(reader, "terms", term) > 0
    assert caches._absent("terms", "zyxwvut")
    assert caches.doc_frequency(reader, "terms", "zyxwvut") == 0
    kb.close()


def test_an_index_without_a_terms_filter_gets_one_at_the_next_start(tmp_path: Path) -> None:
    kb = knowledge_base(tmp_path)
    kb.store.save_article(with_symptom("910101", "Gizmo spooler lost its queue"), "imported")
    kb.index.rebuild(kb.store)
    path = index_module.terms_filter_file(kb.index.path, kb.index.current_name())
    path.unlink()
    kb.ensure_ready()
    assert path.exists()
    reader = key_filter.FilterReader()
    assert "gizmo" in symptom_terms(kb)
    for term in symptom_terms(kb):
        assert reader.may_hold(path, index_module.term_key("terms", term))
    kb.close()


def test_the_largest_filter_takes_more_keys_without_being_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At the largest size a filter cannot grow: made again at every write, it would cost a
    # pass over the whole line index per article saved. It fills up and lets more through.
    monkeypatch.setattr(key_filter, "MAX_BITS_LOG2", key_filter.MIN_BITS_LOG2)
    conn, path, reader = line_index_with_filter(tmp_path, random_keys(1_000, 7))
    made = path.stat().st_ino
    keys = random_keys(100_000, 8)
    add_rows(conn, 2, keys)
    key_filter.add(path, keys, lambda: key_filter.line_index_keys(conn))
    assert path.stat().st_ino == made
    assert reader.maybe_held(path, keys) == keys

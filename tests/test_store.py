"""The store: whole-article writes, idempotence, curated precedence, cascades, revisions."""

from __future__ import annotations

import copy
import inspect
import sqlite3

import psycopg
import pytest
import yaml

from schemas.records import load_article_document
from service.config import PROJECT_ROOT
from service.storage import Store
from tests.helpers import outside_sql, store_location, widget_article

pytestmark = pytest.mark.usefixtures("backend")


def _sql(store: Store, statement: str) -> list[tuple]:
    """Run SQL on the store from outside, as another program would (foreign keys on)."""
    return outside_sql(store.url or store.path, statement)


@pytest.fixture()
def seed() -> dict:
    return load_article_document(yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text()))


@pytest.fixture()
def store(tmp_path) -> Store:
    store = Store(store_location(tmp_path))
    store.initialise()
    yield store
    store.close()


def test_saving_the_same_article_twice_changes_nothing(store: Store, seed: dict) -> None:
    assert store.save_article(seed, source="curated").outcome == "created"
    revision = store.revision()
    assert store.save_article(copy.deepcopy(seed), source="curated").outcome == "unchanged"
    assert store.revision() == revision


def test_an_imported_copy_never_replaces_a_curated_article(store: Store, seed: dict) -> None:
    store.save_article(seed, source="curated")
    imported = copy.deepcopy(seed)
    imported["title"] = "An imported title"
    assert store.save_article(imported, source="imported").outcome == "kept"
    assert store.get_article("264630")["title"] == seed["title"]


def test_an_update_replaces_every_record_of_the_article(store: Store, seed: dict) -> None:
    store.save_article(seed, source="curated")
    changed = copy.deepcopy(seed)
    changed["symptoms"] = changed["symptoms"][:3]
    assert store.save_article(changed, source="curated").outcome == "updated"
    assert store.count("symptoms") == 3


def test_deleting_an_article_deletes_its_records(store: Store, seed: dict) -> None:
    store.save_article(seed, source="curated")
    assert store.delete_article("264630").outcome == "deleted"
    for table in ("articles", "issues", "symptoms", "causes", "workarounds"):
        assert store.count(table) == 0
    assert _sql(store, "SELECT count(*) FROM steps") == [(0,)]
    assert store.delete_article("264630") is None


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        _sql(store, "INSERT INTO issues(id, article_id, number, title) VALUES ('1-1', '1', 1, 't')")


def test_aliases_resolve_to_the_article(store: Store, seed: dict) -> None:
    store.save_article(seed, source="curated")
    for name in ("264630", "Q264630", "KB264630", "q264630"):
        assert store.resolve_article_id(name) == "264630"


def test_links_run_both_ways(store: Store, seed: dict) -> None:
    store.save_article(seed, source="curated")
    issue = store.issue_details("264630-1")
    assert all(s["issue_id"] == "264630-1" for s in issue["symptoms"])
    assert all("264630-1" in c["issue_ids"] for c in issue["causes"])
    assert all("264630-1" in w["issue_ids"] for w in issue["workarounds"])
    steps = store.get_workaround("264630-w2")["steps"]
    assert [s["number"] for s in steps] == [1, 2, 3]
    assert steps[0]["id"] == "264630-w2-1"


def test_an_issue_with_its_records_names_them_as_the_issue_alone_does(
    store: Store, seed: dict
) -> None:
    store.save_article(seed, source="curated")
    issue_ids = ["264630-1", "264630-2"]
    details = store.issues_details(issue_ids)
    for issue_id in issue_ids:
        alone = store.get_issue(issue_id)
        for key in ("symptom_ids", "cause_ids", "workaround_ids"):
            assert details[issue_id][key] == alone[key]
        assert details[issue_id]["cause_ids"] == [c["id"] for c in details[issue_id]["causes"]]
    assert details["264630-2"]["symptom_ids"]


def test_a_whole_article_names_each_issues_records_as_the_issue_alone_does(
    store: Store, seed: dict
) -> None:
    # The seed's issues share records: the ids an article read gives each issue are that
    # issue's own, in its order.
    store.save_article(seed, source="curated")
    article = store.get_article("264630")
    assert len(article["issues"]) == 2
    for issue in article["issues"]:
        alone = store.get_issue(issue["id"])
        for key in ("symptom_ids", "cause_ids", "workaround_ids"):
            assert issue[key] == alone[key], key
    assert any(len(c["issue_ids"]) > 1 for c in article["causes"] + article["workarounds"])


def test_related_articles_are_listed_in_the_articles_own_order(store: Store, seed: dict) -> None:
    # Not by number: the seed names 251070 before 249077.
    store.save_article(seed, source="curated")
    written = [r["article_id"] for r in seed["related"]]
    assert written != sorted(written)
    assert [r["article_id"] for r in store.get_article("264630")["related"]] == written
    assert [r["article_id"] for r in store.related_articles("264630")] == written
    assert [r["article_id"] for r in store.related_articles_of(["264630"])["264630"]] == written


def test_pages_follow_the_cursor_to_the_end(store: Store, seed: dict) -> None:
    store.save_article(seed, source="curated")
    seen, cursor = [], None
    while True:
        page, cursor = store.list_records("symptoms", limit=7, after=cursor)
        seen += [s["id"] for s in page]
        if cursor is None:
            break
    assert seen == sorted(s["id"] for s in seed["symptoms"])


def test_the_write_log_tells_which_articles_changed_since_a_revision(
    store: Store, seed: dict
) -> None:
    start = store.revision()
    store.save_article(seed, source="curated")
    other = load_article_document(
        yaml.safe_load((PROJECT_ROOT / "tests/fixtures/900001.yaml").read_text())
    )
    store.save_article(other, source="imported")
    store.save_article(seed, source="curated")  # unchanged: no write, no revision
    now = store.revision()
    assert now == start + 2
    assert store.articles_written_since(start, now) == {"264630", "900001"}
    assert store.articles_written_since(start + 1, now) == {"900001"}
    assert store.articles_written_since(now, now) == set()
    # more writes than asked for, or from before the log began: not known, so everything
    assert store.articles_written_since(start, now, limit=1) is None
    assert store.articles_written_since(-1, now) is None
    _sql(store, f"DELETE FROM article_writes WHERE revision = {start + 1}")
    assert store.articles_written_since(start, now) is None


def test_cached_views_are_dropped_only_for_the_articles_written(tmp_path) -> None:
    from service.kb import KnowledgeBase
    from tests.helpers import make_config

    config = make_config(tmp_path)
    knowledge = KnowledgeBase(config)
    knowledge.build()
    writer = KnowledgeBase(config)  # another process, as far as the cache can tell
    cache = knowledge.explain_cache()
    cache.put("seed view", 1, ["264630", "251070"])
    cache.put("test view", 2, ["900001"])
    cache.put("any write", 3)
    assert writer.store.delete_article("900001")
    knowledge.changed()  # look now rather than after the once-a-second check
    cache = knowledge.explain_cache()
    assert ("seed view" in cache, "test view" in cache, "any write" in cache) == (
        True,
        False,
        False,
    )
    writer.close()
    knowledge.close()


def test_the_explain_cache_keeps_a_bounded_number_of_entries_newest_last() -> None:
    # Pastes choose what is explained: a stream of distinct lines must not grow a worker's
    # memory without end. The oldest entry goes first; putting a key again makes it newest.
    from service.kb import RevisionCache

    cache = RevisionCache(max_entries=3)
    for key in ("a", "b", "c"):
        cache.put(key, key.upper(), ["900001"])
    cache.put("a", "A again")
    cache.put("d", "D")
    assert len(cache) == 3
    assert ("a" in cache, "b" in cache, "c" in cache, "d" in cache) == (True, False, True, True)
    assert cache.get("a") == "A again"
    cache.forget({"900001"})  # "a" was put again without articles: any write drops it too
    assert ("a" in cache, "c" in cache, "d" in cache) == (False, False, False)


def _plain(value: object) -> bool:
    """Whether `value` is made of plain values only (what any kind of store could hand out)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def test_the_store_takes_and_hands_out_plain_values_only(store: Store, seed: dict) -> None:
    from service.storage import ActivityDatabase
    from service.storage.lines import LineReader

    for kind in (Store, ActivityDatabase, LineReader):
        for name, method in inspect.getmembers(kind, inspect.isfunction):
            if not name.startswith("_"):
                assert "sqlite3" not in str(inspect.signature(method)), f"{kind.__name__}.{name}"
    store.save_article(seed, source="curated")
    answers = [
        store.get_article("264630"),
        store.list_records("issues", limit=5),
        store.list_records("articles", limit=5),
        store.issues_details(["264630-1", "264630-2"]),
        list(store.issue_texts("264630")),
        list(store.symptom_lines()),
        store.search_articles(["interoperability"], limit=3),
        store.verdict_counts(),
        store.products_of_article("264630"),
        store.related_articles("264630"),
    ]
    assert [bool(answer) for answer in answers] == [True] * len(answers)
    assert all(_plain(answer) for answer in answers)


def test_writes_in_a_batch_commit_together_and_a_failing_one_is_undone_alone(
    store: Store,
) -> None:
    # What an import does: one transaction per batch of articles, one savepoint per article.
    one, two, three = (
        load_article_document(widget_article(number, f"Widget {number} stopped responding"))
        for number in ("700001", "700002", "700003")
    )
    with store.transaction():
        store.save_article(one, source="imported")
        with pytest.raises((sqlite3.Error, psycopg.Error)), store.transaction():
            store.save_article(two, source="imported")
            # The database itself refuses a statement (for PostgreSQL, an error that would
            # leave a whole transaction unusable, not only this piece of it).
            store._conn.execute("SELECT * FROM no_such_table")
        store.save_article(three, source="imported")
        # Nothing is committed before the batch ends: another program sees none of it.
        assert _sql(store, "SELECT id FROM articles") == []
    assert sorted(row[0] for row in _sql(store, "SELECT id FROM articles")) == [
        "700001",
        "700003",
    ]
    assert store.article_text("700002") is None


def test_a_search_weighs_words_by_the_articles_that_have_them_after_another_node_writes(
    store: Store,
) -> None:
    # How rare a word is weighs in its rank; another process (a node) adding articles with it
    # makes it commoner, and the next search ranks as a store opened afresh would.
    other = Store(store.url or store.path)
    try:
        for number in ("700001", "700002", "700003", "700004", "700005", "700006"):
            line = f"Gadget {number} stalled at start"
            other.save_article(
                load_article_document(widget_article(number, line)), source="imported"
            )
        line = "Widget 700007 flux capacitor overheated"
        other.save_article(load_article_document(widget_article("700007", line)), source="imported")
        words = ["flux", "overheated"]
        before = store.search_articles(words, limit=5)
        for number in ("700008", "700009"):
            line = f"Flux readings of widget {number} drift"
            other.save_article(
                load_article_document(widget_article(number, line)), source="imported"
            )
        after = store.search_articles(words, limit=5)
        fresh = Store(store.url or store.path)
        try:
            expected = fresh.search_articles(words, limit=5)
        finally:
            fresh.close()
    finally:
        other.close()
    assert [(hit["article_id"], hit["score"]) for hit in after] == [
        (hit["article_id"], hit["score"]) for hit in expected
    ]
    # "flux" in three articles of nine weighs less than in one of seven.
    assert before[0]["article_id"] == after[0]["article_id"] == "700007"
    assert after[0]["score"] < before[0]["score"]


def test_a_search_fills_its_list_with_articles_having_only_its_commonest_word(
    store: Store,
) -> None:
    # "stalled" is in every article, "flux" in one: that one comes first, and the others
    # still fill the list, as people expect of a search for any of the words.
    for number in ("700001", "700002", "700003", "700004", "700005", "700006"):
        line = f"Gadget {number} stalled at start"
        store.save_article(load_article_document(widget_article(number, line)), source="imported")
    line = "Widget 700007 flux capacitor stalled"
    store.save_article(load_article_document(widget_article("700007", line)), source="imported")
    found = store.search_articles(["stalled", "flux"], limit=5)
    assert len(found) == 5
    assert found[0]["article_id"] == "700007"
    assert store.articles_ranked(["stalled", "flux"], limit=5)[0] == "700007"
    assert len(store.articles_ranked(["stalled", "flux"], limit=5)) == 5


def test_a_batch_of_answered_pastes_adds_up_as_the_pastes_one_by_one(tmp_path) -> None:
    from service.storage import ActivityDatabase, MatchRecord

    location = store_location(tmp_path)
    log = ActivityDatabase(location if isinstance(location, str) else tmp_path / "activity.sqlite3")
    try:

        def record(n: int, top=None, gaps=(), client=None) -> MatchRecord:
            return MatchRecord(
                request_id=f"r{n}",
                stamp=f"2026-11-30T10:00:0{n}",
                issues="{}",
                unmatched=["widget stalled at start"],
                top=top,
                gaps=list(gaps),
                client=client,
            )

        log.write(
            [
                record(1, top=("700001-1", "700001")),
                record(2, gaps=["gizmo humming"], client="a"),
                record(3, top=("700001-1", "700001")),
                record(4, gaps=["gizmo humming"], client="a"),
                record(5, gaps=["gizmo humming"], client="b"),
            ]
        )
        log.write([record(6, top=("700001-1", "700001"))])
        assert log.totals() == {"pastes": 6, "pastes_unmatched": 3}
        assert [(i["issue_id"], i["count"]) for i in log.top_issues(5)] == [("700001-1", 3)]
        gaps = log.content_gaps(5, min_clients=1)
        assert [(g["line"], g["count"], g["clients"]) for g in gaps] == [("gizmo humming", 3, 2)]
        assert log.pastes_saying(["widget stalled at start"]) == {"widget stalled at start": 6}
        assert log.match("r4") is not None
        many = [
            MatchRecord(
                f"m{n}",
                "2026-11-30T10:01:00",
                "{}",
                [f"line {n}", "widget stalled at start"],
                None,
                [],
                None,
            )
            for n in range(50)
        ]
        with log.traced() as statements:
            log.write(many)
        said = log.pastes_saying(["widget stalled at start", "line 7"])
        assert said == {"widget stalled at start": 56, "line 7": 1}
        if log.is_postgres:
            # Sent to the server as arrays: one statement for the 51 lines, not one per line.
            assert len([s for s in statements if "INTO line_seen" in s]) == 1
    finally:
        log.close()


def test_a_snippet_shows_a_match_far_into_a_long_article(store: Store) -> None:
    filler = "The gadget hums along quietly and does what it should. " * 120
    line = f"{filler}\n\nThen the flux capacitor overheated at 88 miles per hour."
    store.save_article(load_article_document(widget_article("700001", line)), source="imported")
    [hit] = store.search_articles(["flux", "capacitor"], limit=5, every_word=True)
    assert "**flux**" in hit["snippet"].lower()


def test_the_word_counts_kept_for_searches_are_bounded(store: Store, monkeypatch) -> None:
    # Anyone may search for any word: the counts a PostgreSQL store keeps start afresh past a
    # bound instead of growing with every word ever asked for.
    from service.storage import search

    monkeypatch.setattr(search, "WORD_COUNTS_KEPT", 5)
    line = "Widget 700001 flux capacitor overheated"
    store.save_article(load_article_document(widget_article("700001", line)), source="imported")
    for number in range(40):
        store.search_articles([f"word{number}", "flux"], limit=3)
    assert store.search_articles(["flux"], limit=3)[0]["article_id"] == "700001"
    kept = getattr(store, "_kept_counts", None)
    assert (kept is None) != store.is_postgres
    assert kept is None or len(kept.found) <= 5 + 2


# Each foreign key's column and the columns an index of its table starts with, from the
# database's own catalogue: SQLite's pragma functions, PostgreSQL's pg_constraint and pg_index.
_SQLITE_KEYS = (
    'SELECT m.name, f."from" FROM sqlite_master m, pragma_foreign_key_list(m.name) f'
    " WHERE m.type = 'table'"
)
_SQLITE_LEADING = (
    "SELECT m.name, i.name FROM sqlite_master m, pragma_index_list(m.name) l,"
    " pragma_index_info(l.name) i WHERE m.type = 'table' AND i.seqno = 0"
)
_POSTGRES_KEYS = (
    "SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c"
    " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
    " WHERE c.contype = 'f'"
)
_POSTGRES_LEADING = (
    "SELECT x.indrelid::regclass::text, a.attname FROM pg_index x"
    " JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]"
)


def test_every_foreign_key_leads_an_index(store: Store) -> None:
    # Reading an article's records, and deleting them with it (a cascade), look rows up by
    # such a column: without an index, each of those reads the whole table.
    keys, leading = (
        (_POSTGRES_KEYS, _POSTGRES_LEADING)
        if store.is_postgres
        else (_SQLITE_KEYS, _SQLITE_LEADING)
    )
    indexed = set(_sql(store, leading))
    unindexed = sorted(set(_sql(store, keys)) - indexed)
    assert unindexed == []
    assert ("article_aliases", "article_id") in indexed


def test_a_record_two_issues_share_is_read_as_one_copy_each(store: Store, seed: dict) -> None:
    # The seed's cause c5 and workaround w6 belong to issues 1 and 2: each issue read with the
    # other gets its own copy, so one answer's change to one issue's record leaves the other's.
    store.save_article(seed, source="curated")
    details = store.issues_details(["264630-1", "264630-2"])
    first, second = details["264630-1"], details["264630-2"]
    for key, shared in (("causes", "264630-c5"), ("workarounds", "264630-w6")):
        one = next(r for r in first[key] if r["id"] == shared)
        other = next(r for r in second[key] if r["id"] == shared)
        assert one == other
        assert one is not other
        one["issue_ids"].append("changed")
        assert "changed" not in other["issue_ids"]
    alone = store.issues_details(["264630-2"])["264630-2"]
    assert [c["id"] for c in alone["causes"]] == [c["id"] for c in second["causes"]]


def test_a_rewritten_article_is_found_by_its_new_words_alone_and_a_deleted_one_not_at_all(
    store: Store,
) -> None:
    # PostgreSQL ranks single words from ranks stored per article and word: they must follow
    # every write of the article as its text does.
    number = "700001"
    store.save_article(
        load_article_document(widget_article(number, "The flux capacitor overheated")),
        source="imported",
    )
    assert [h["article_id"] for h in store.search_articles(["flux"], limit=3)] == [number]
    store.save_article(
        load_article_document(widget_article(number, "The plasma conduit overheated")),
        source="imported",
    )
    assert store.search_articles(["flux"], limit=3) == []
    assert store.articles_ranked(["flux"], limit=3) == []
    for every_word in (False, True):
        found = store.search_articles(["plasma", "overheated"], limit=3, every_word=every_word)
        assert [h["article_id"] for h in found] == [number]
    store.delete_article(number)
    assert store.search_articles(["plasma"], limit=3) == []
    assert store.articles_ranked(["plasma", "overheated"], limit=3) == []


def test_words_punctuation_splits_rank_beside_plain_words(store: Store) -> None:
    # "copylog.tcf" is the phrase "copylog tcf" in the search text; "flux" one word: a search
    # with both weighs each, on either backend, however each is ranked inside.
    for number, line in (
        ("700001", "Copylog.tcf lists the flux readings"),
        ("700002", "The flux capacitor overheated"),
        ("700003", "Copylog.tcf was not found"),
        ("700004", "Gadget stalled at start"),
    ):
        store.save_article(load_article_document(widget_article(number, line)), source="imported")
    found = store.search_articles(["copylog.tcf", "flux"], limit=5)
    assert found[0]["article_id"] == "700001"
    assert {h["article_id"] for h in found} == {"700001", "700002", "700003"}
    every = store.search_articles(["copylog.tcf", "flux"], limit=5, every_word=True)
    assert [h["article_id"] for h in every] == ["700001"]
    assert every[0]["score"] == pytest.approx(found[0]["score"])

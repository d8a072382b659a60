"""The index beside the store: rebuilds never leave readers with an empty or missing index."""

from __future__ import annotations

from service import index as index_module
from service.kb import KnowledgeBase
from service.matching import match_log
from tests.helpers import make_config

SEED_LINE = "Trying to open IPC connection with APM...  CCIM32"


def top_issue(knowledge: KnowledgeBase) -> str | None:
    # Readers look for a newer index at most once a second; a test need not wait for that.
    knowledge.index._checked_at = 0.0
    matches = match_log(knowledge, SEED_LINE, limit=1)["matches"]
    return matches[0]["issue_id"] if matches else None


def test_readers_keep_answering_while_the_index_is_rebuilt(tmp_path, monkeypatch) -> None:
    config = make_config(tmp_path)
    reader, writer = KnowledgeBase(config), KnowledgeBase(config)
    reader.ensure_ready()
    assert top_issue(reader) == "264630-1"
    first_generation = reader.index.current_name()

    seen_during_rebuild = []
    all_documents = index_module.all_documents

    def slow_documents(store):
        for n, document in enumerate(all_documents(store)):
            if n == 5:
                # Half-way through the rebuild, another process (the reader) answers a paste.
                seen_during_rebuild.append(top_issue(reader))
            yield document

    monkeypatch.setattr(index_module, "all_documents", slow_documents)
    writer.index.rebuild(writer.store)
    second_generation = writer.index.current_name()
    assert seen_during_rebuild == ["264630-1"]
    assert second_generation != first_generation
    assert top_issue(reader) == "264630-1"
    assert reader.index.current_name() == second_generation

    # The generation just replaced stays (a reader may still hold it); the one before goes.
    writer.index.rebuild(writer.store)
    names = {index_module._generation(p.name) for p in config.index_path.iterdir()}
    assert first_generation not in names
    assert {second_generation, writer.index.current_name()} <= names
    assert top_issue(reader) == "264630-1"
    reader.close()
    writer.close()


def test_a_rebuild_that_dies_leaves_the_old_generation_in_use(tmp_path, monkeypatch) -> None:
    config = make_config(tmp_path)
    knowledge = KnowledgeBase(config)
    knowledge.ensure_ready()
    before = knowledge.index.read_state()

    def broken_documents(store):
        yield from ()
        raise OSError("disk full")

    monkeypatch.setattr(index_module, "all_documents", broken_documents)
    try:
        knowledge.index.rebuild(knowledge.store)
    except OSError:
        pass
    else:
        raise AssertionError("the rebuild should have failed")
    assert knowledge.index.read_state() == before
    assert top_issue(knowledge) == "264630-1"
    knowledge.close()


def test_size_on_disk_counts_the_current_generation_only(tmp_path) -> None:
    config = make_config(tmp_path)
    knowledge = KnowledgeBase(config)
    knowledge.ensure_ready()
    size = knowledge.index.size_on_disk()
    knowledge.index.rebuild(knowledge.store)
    # Two generations are on disk now, but only one is the index.
    assert 0.5 * size < knowledge.index.size_on_disk() < 1.5 * size
    knowledge.close()


def test_a_new_searcher_keeps_what_it_read_from_unchanged_segments(tmp_path) -> None:
    from service.importer import parse_article
    from tests.test_importer import PLAIN_ARTICLE

    knowledge = KnowledgeBase(make_config(tmp_path))
    knowledge.build()
    line = "Copylog.tcf was updated by site XYZ for component CLICORE"

    def articles() -> list[str]:
        knowledge.index._checked_at = 0.0  # look for the new index now, not within a second
        return [m["article_id"] for m in match_log(knowledge, line, limit=5)["matches"]]

    assert "249077" not in articles()
    before = dict(knowledge.index.caches.segments)
    assert before and all(lookups.size() for lookups in before.values())

    # another article arrives: a new segment, the old ones unchanged
    knowledge.save_article(parse_article(PLAIN_ARTICLE), "imported")
    assert articles()[0] == "249077"
    after = knowledge.index.caches.segments
    assert all(after[key] is lookups for key, lookups in before.items())
    assert len(after) > len(before)

    # deleting it marks documents deleted in its segment: that segment is read again
    knowledge.delete_article("249077")
    assert "249077" not in articles()
    assert match_log(knowledge, "Trying to open IPC connection with APM", limit=5)["matches"]
    knowledge.close()


def test_terms_asked_together_are_found_as_their_frequencies_say(tmp_path) -> None:
    """`terms_present` (many words checked at once, as a misspelt word's variants are) agrees
    with the document frequency of each term, over segments added since, and reads an unchanged
    segment's words once."""
    from service.importer import parse_article
    from tests.test_importer import PLAIN_ARTICLE

    knowledge = KnowledgeBase(make_config(tmp_path))
    knowledge.build()
    # Stems, as the issues' text ("content") is indexed: the seed's, the new article's, neither.
    words = ["logon", "servic", "updat", "wrong", "show", "smsnt.log", "zzzz", "wrang"]

    def present() -> set[str]:
        knowledge.index._checked_at = 0.0  # look for the new index now, not within a second
        reading = knowledge.index.reading()
        reader, caches = reading.searcher.reader(), reading.caches
        found = caches.terms_present(reader, "content", words)
        assert found == {w for w in words if caches.doc_frequency(reader, "content", w)}
        return found

    before = present()
    assert before == {"logon", "servic", "updat"}
    vocabularies = dict(knowledge.index.caches.vocabularies)
    assert vocabularies

    # another article arrives in a segment of its own: its words are found, and the words of
    # the segments it left unchanged are not read again
    knowledge.save_article(parse_article(PLAIN_ARTICLE), "imported")
    after = present()
    assert after - before == {"wrong", "show", "smsnt.log"}
    kept = knowledge.index.caches.vocabularies
    assert all(kept[key] is terms for key, terms in vocabularies.items())
    assert len(kept) > len(vocabularies)

    # deleted, its words count as long as its segment keeps them, as for their frequencies
    knowledge.delete_article("249077")
    present()
    knowledge.close()


def test_pastes_full_of_misspelt_words_ask_a_bounded_number_of_times_and_read_once(
    tmp_path, monkeypatch
) -> None:
    """The worst a paste can do to the vocabularies: however many words no issue uses, a
    paste asks about them at most TYPO_CORRECTED_LINES x TYPO_CORRECTED_WORDS times, and each
    segment's words are read once for all pastes, not once per paste."""
    from service.matching import rank

    knowledge = KnowledgeBase(make_config(tmp_path))
    knowledge.build()
    asked = []
    terms_present = index_module.SearcherCaches.terms_present

    def counted(caches, reader, field_name, terms):
        asked.append(field_name)
        return terms_present(caches, reader, field_name, terms)

    monkeypatch.setattr(index_module.SearcherCaches, "terms_present", counted)

    def paste(seed: str) -> str:
        # A short paste (so words are put right at all), every line ten made-up words long.
        return "\n".join(
            " ".join(f"{seed}q{chr(97 + n)}{chr(97 + w)}vzle" for w in range(10))
            for n in range(rank.TYPO_CORRECTED_PASTE_LINES)
        )

    match_log(knowledge, paste("xk"), limit=5)
    assert 0 < len(asked) <= rank.TYPO_CORRECTED_LINES * rank.TYPO_CORRECTED_WORDS
    reading = knowledge.index.reading()
    segments = {leaf.segment().segment_id() for leaf, _ in reading.searcher.reader().leaf_readers()}
    read = dict(reading.caches.vocabularies)
    assert set(read) == {(segment, "content") for segment in segments}

    asked.clear()
    match_log(knowledge, paste("jw"), limit=5)
    assert 0 < len(asked) <= rank.TYPO_CORRECTED_LINES * rank.TYPO_CORRECTED_WORDS
    kept = knowledge.index.reading().caches.vocabularies
    assert kept.keys() == read.keys()
    assert all(kept[key] is words for key, words in read.items())
    knowledge.close()


COPYLOG_LINE = "Copylog.tcf was updated by site XYZ for component CLICORE"


def test_a_failed_refresh_keeps_the_old_searcher_answering_and_heals(tmp_path, monkeypatch) -> None:
    from service.importer import parse_article
    from tests.test_importer import PLAIN_ARTICLE

    reader, writer = KnowledgeBase(make_config(tmp_path)), KnowledgeBase(make_config(tmp_path))
    reader.ensure_ready()
    assert top_issue(reader) == "264630-1"
    before = reader.index.searcher()
    documents = before.doc_count()

    # Another process writes an article; opening the index it committed then fails twice, as
    # when a writer's commit deletes files a reader has just listed.
    writer.save_article(parse_article(PLAIN_ARTICLE), "imported")
    opens = index_module.KBIndex.open
    failures = []

    def flaky_open(self, name=None):
        if len(failures) < 2:
            failures.append(name)
            raise FileNotFoundError("_kb_2.toc vanished")
        return opens(self, name)

    monkeypatch.setattr(index_module.KBIndex, "open", flaky_open)
    for attempt in range(1, 3):
        # each refresh fails, and the searcher from before the write answers, still open
        assert top_issue(reader) == "264630-1"
        assert len(failures) == attempt
        assert reader.index.reading().searcher is before and not before.is_closed
        assert reader.index.refresh_failing_since is not None
    # the next refresh opens the new index: the write is in it, and old answers still come
    assert top_issue(reader) == "264630-1"
    assert reader.index.searcher() is not before
    assert reader.index.document_count() > documents
    matches = match_log(reader, COPYLOG_LINE, limit=5)["matches"]
    assert matches[0]["article_id"] == "249077"
    assert reader.index.refresh_failing_since is None
    assert reader.index.refresh_failures == 2
    reader.close()
    writer.close()


def test_line_lookups_read_the_generation_of_the_searcher_they_go_with(tmp_path) -> None:
    import threading

    knowledge = KnowledgeBase(make_config(tmp_path))
    knowledge.ensure_ready()
    searcher = knowledge.index.searcher()
    first = knowledge.index.current_name()
    key = next(iter(knowledge.store.iter_line_keys()))[1][0]  # a line some article says
    # Another process rebuilds the index into a new generation, and another thread of this
    # one refreshes to it while this thread is still answering with its searcher.
    other = KnowledgeBase(make_config(tmp_path))
    other.index.rebuild(other.store)
    knowledge.index._checked_at = 0.0
    refreshed = []
    thread = threading.Thread(target=lambda: refreshed.append(knowledge.index.searcher()))
    thread.start()
    thread.join()
    assert refreshed[0] is not searcher
    # This thread's line lookups and caches stay those of the searcher it holds.
    assert key in knowledge.index.articles_saying([key])
    assert knowledge.index.lines._local.current[0] == first
    caches = knowledge.index.caches
    # Asking for the searcher again pairs this thread with the new generation.
    assert knowledge.index.searcher() is refreshed[0]
    assert key in knowledge.index.articles_saying([key])
    assert knowledge.index.lines._local.current[0] == other.index.current_name() != first
    assert knowledge.index.caches is not caches
    other.close()
    knowledge.close()


def test_a_bulk_rebuild_in_several_processes_finds_every_article_by_its_lines(tmp_path) -> None:
    # As a bulk import rebuilds: Whoosh writes in two processes, one segment each.
    config = make_config(tmp_path)
    knowledge = KnowledgeBase(config)
    knowledge.ensure_ready()
    articles = 250
    for n in range(articles):
        article_id = str(930000 + n)
        knowledge.store.save_article(
            {
                "id": article_id,
                "title": f"Widget relay {n} drops its queue",
                "issues": [{"id": f"{article_id}-1", "number": 1, "title": f"Relay {n} drops"}],
                "sections": [
                    {
                        "key": "more_information",
                        "heading": "MORE INFORMATION",
                        "body": f"The relay log records:\n\nRelay queue {n} was dropped by the "
                        f"widget broker number{n}",
                    }
                ],
            },
            source="api",
        )
    assert knowledge.index.rebuild(knowledge.store, procs=2) > articles
    knowledge.index._checked_at = 0.0
    for n in (0, articles // 2, articles - 1):
        line = f"Relay queue {n} was dropped by the widget broker number{n}"
        matches = match_log(knowledge, line, limit=1)["matches"]
        assert matches and matches[0]["article_id"] == str(930000 + n)
    assert top_issue(knowledge) == "264630-1"
    knowledge.close()

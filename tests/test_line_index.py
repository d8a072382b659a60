"""The line index: built from the store's line keys, kept up to date, kept apart from Whoosh."""

from __future__ import annotations

from pathlib import Path

from service.article_text import line_key
from service.config import Config
from service.kb import KnowledgeBase
from service.normalize import normalize
from service.storage import lines as line_index
from tests.helpers import widget_article


def key(text: str) -> int:
    return line_key(normalize(text).signature)


def knowledge_base(tmp_path: Path) -> KnowledgeBase:
    data = tmp_path / "kb_data"
    data.mkdir()
    kb = KnowledgeBase(Config(kb_home=tmp_path / "home", kb_data=data))
    kb.store.initialise()
    return kb


def test_a_rebuild_indexes_every_stored_articles_lines(tmp_path: Path) -> None:
    kb = knowledge_base(tmp_path)
    kb.store.save_article(widget_article("910101", "Gizmo spooler lost its queue"), "imported")
    kb.store.save_article(widget_article("910102", "Gizmo spooler lost its queue"), "imported")
    kb.store.save_article(widget_article("910103", "Sprocket cache overflowed twice"), "imported")
    kb.index.rebuild(kb.store)
    found = kb.index.articles_saying(
        [key("gizmo SPOOLER lost its queue"), key("nothing here at all")]
    )
    total, articles = found[key("Gizmo spooler lost its queue")]
    assert total == 2
    assert sorted(articles) == [("910101", 1), ("910102", 1)]
    assert key("nothing here at all") not in found
    kb.close()


def test_writes_after_a_rebuild_reach_the_line_index(tmp_path: Path) -> None:
    kb = rebuilt_with_one_widget(tmp_path)
    kb.save_article(widget_article("910102", "Sprocket cache overflowed twice"), "api")
    kb.save_article(widget_article("910101", "Gizmo spooler found its queue again"), "api")
    found = kb.index.articles_saying(
        [
            key("Sprocket cache overflowed twice"),
            key("Gizmo spooler lost its queue"),
            key("Gizmo spooler found its queue again"),
        ]
    )
    assert key("Sprocket cache overflowed twice") in found
    assert key("Gizmo spooler lost its queue") not in found
    assert found[key("Gizmo spooler found its queue again")][1] == [("910101", 1)]
    kb.delete_article("910102")
    assert key("Sprocket cache overflowed twice") not in kb.index.articles_saying(
        [key("Sprocket cache overflowed twice")]
    )
    kb.close()


def rebuilt_with_one_widget(tmp_path: Path) -> KnowledgeBase:
    """A knowledge base whose index was rebuilt with one widget article in the store."""
    kb = knowledge_base(tmp_path)
    kb.store.save_article(widget_article("910101", "Gizmo spooler lost its queue"), "imported")
    kb.index.rebuild(kb.store)
    return kb


def test_the_line_index_file_is_not_one_whoosh_would_clean_away(tmp_path: Path) -> None:
    # Whoosh deletes `<index name>_<x>.<ext>` files its table of contents does not list each
    # time it commits; the line index must not look like one.
    kb = rebuilt_with_one_widget(tmp_path)
    path = line_index.lines_file(kb.index.path, kb.index.current_name())
    assert path.exists()
    for n in range(3):
        kb.save_article(widget_article(f"91020{n}", f"Sprocket number {n} jammed hard"), "api")
    assert path.exists()
    assert path.name.startswith(line_index.LINES_PREFIX)
    kb.close()


def test_an_old_generations_line_index_goes_with_it(tmp_path: Path) -> None:
    kb = rebuilt_with_one_widget(tmp_path)
    first = line_index.lines_file(kb.index.path, kb.index.current_name())
    kb.index.rebuild(kb.store)
    kb.index.rebuild(kb.store)
    assert not first.exists()
    assert line_index.lines_file(kb.index.path, kb.index.current_name()).exists()
    kb.close()

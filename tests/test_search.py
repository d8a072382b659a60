"""Searching articles in words: every word first, then some, and words that tell nothing."""

from __future__ import annotations

import pytest

from service.importer import parse_article
from tests.helpers import make_config, running_app

# Articles written for these tests, in the plain KB text format. Every one of them mentions a
# server, as nearly every article of a real archive does.
ARTICLES = {
    "900101": (
        "Widget synchronisation stops after a restart",
        "The widget service on the server stops synchronising widget data. Widget logs show "
        "the widget queue as full; widget clients wait.",
    ),
    "900102": (
        "Widget and gizmo disagree about the inventory",
        "When a gizmo reports inventory to the server, the widget copy keeps the old counts.",
    ),
    "900103": (
        "Gizmo agent does not start",
        "The gizmo agent cannot reach the server and stops at once.",
    ),
    "900104": (
        "Server names longer than fifteen characters",
        "A server whose name has more than fifteen characters cannot be added to a site.",
    ),
}


def plain_article(number: str, title: str, text: str) -> str:
    return (
        f"{title} ({number})\n\n\nThe information in this article applies to:\n\n"
        "  \u2022 Test Product 1.0\n\nSYMPTOMS\n\n"
        f"{text}\n\nModification Type:MajorLast Reviewed:3/1/2004\nKeywords:kbtest KB{number}\n"
    )


@pytest.fixture(scope="module")
def client(backend: str, tmp_path_factory: pytest.TempPathFactory):
    config = make_config(tmp_path_factory.mktemp("search"), with_test_articles=False)
    with running_app(config) as app:
        knowledge = app.extensions["kb"]
        for number, (title, text) in ARTICLES.items():
            knowledge.save_article(parse_article(plain_article(number, title, text)), "imported")
        yield app.test_client()


def found(client, query: str) -> list[str]:
    body = client.get("/v1/search", query_string={"q": query}).get_json()
    return [hit["article_id"] for hit in body["results"]]


def test_articles_with_every_word_come_first(client) -> None:
    # 900101 says "widget" six times and would win on those words alone; only 900102 has both.
    results = found(client, "widget gizmo")
    assert results[0] == "900102"
    assert set(results[1:]) == {"900101", "900103"}


def test_articles_with_some_of_the_words_follow_when_none_has_all(client) -> None:
    results = found(client, "widget queue gizmo agent")
    assert set(results[:2]) == {"900101", "900103"}
    assert "900102" in results


def test_a_word_found_in_most_articles_does_not_list_every_article(client) -> None:
    # "server" is in all five articles (the seed too): it ranks nothing, so the articles that
    # have only that word are not listed behind the ones with "gizmo".
    assert sorted(found(client, "server gizmo")) == ["900102", "900103"]
    # typed alone, it is all there is to go on
    assert len(found(client, "server")) == 5

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


def test_issues_of_the_articles_found_are_scored_by_how_much_of_the_query_they_say(
    client,
) -> None:
    body = client.get("/v1/search", query_string={"q": "Gizmo agent stops"}).get_json()
    issues = body["issues"]
    assert issues[0]["issue_id"] == "900103-1"
    assert issues[0]["page_url"] == "http://localhost/issues/900103-1"
    # Every word said: the whole query. Fewer or commoner words: a share of it, never 0.
    assert issues[0]["score"] == 1.0
    assert all(0 < hit["score"] < 1 for hit in issues[1:])
    assert [hit["score"] for hit in issues] == sorted((h["score"] for h in issues), reverse=True)
    # The query's words as it writes them, not their stems ("stop").
    assert issues[0]["matched_words"] == ["Gizmo", "agent", "stops"]


def test_article_scores_are_not_rounded_away_in_a_small_knowledge_base(client) -> None:
    # "server" is in every article: BM25 gives it almost no weight, but a hit is still a hit.
    body = client.get("/v1/search", query_string={"q": "server"}).get_json()
    assert body["results"] and all(hit["score"] > 0 for hit in body["results"])


def test_a_query_no_article_has_finds_no_issue_either(client) -> None:
    body = client.get("/v1/search", query_string={"q": "zebra"}).get_json()
    assert (body["results"], body["issues"]) == ([], [])


def test_a_query_of_hundreds_of_words_is_ranked_on_its_first_forty(client, monkeypatch) -> None:
    # Anyone may search: a long query costs what its first words cost, on either backend.
    from service.search import MAX_QUERY_WORDS

    store = client.application.extensions["kb"].store
    asked: list[int] = []
    searched = store.search_articles

    def recording(words, **options):
        asked.append(len(words))
        return searched(words, **options)

    monkeypatch.setattr(store, "search_articles", recording)
    from service.limits import MAX_QUERY_CHARS

    # As many words as the longest query allowed holds (a longer one is a 400).
    query = " ".join(["widget", "server", "gizmo"] + [f"u{n}" for n in range(MAX_QUERY_CHARS)])
    query = query[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]
    assert len(query.split()) > 5 * MAX_QUERY_WORDS
    answer = client.get("/v1/search", query_string={"q": query})
    assert answer.status_code == 200
    assert "900101" in [hit["article_id"] for hit in answer.get_json()["results"]]
    assert asked and max(asked) <= MAX_QUERY_WORDS

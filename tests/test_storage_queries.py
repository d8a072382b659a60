"""Lists cost a fixed number of SQL statements, however many records a page holds."""

from __future__ import annotations

import pytest
import yaml

from schemas.records import load_article_document
from tests.helpers import FIXTURES, make_config, running_app

TABLES = ("articles", "issues", "symptoms", "causes", "workarounds")


def numbered_copy(number: int) -> dict:
    """The test article 900001 (an issue, a symptom, a cause, a workaround with two steps,
    a product and a keyword) under another number."""
    text = (FIXTURES / "900001.yaml").read_text().replace("900001", str(number))
    return load_article_document(yaml.safe_load(text))


@pytest.fixture(scope="module")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory):
    with running_app(make_config(tmp_path_factory.mktemp("lists"))) as app:
        knowledge = app.extensions["kb"]
        knowledge.after_write(
            [knowledge.store.save_article(numbered_copy(800000 + n), "api") for n in range(120)]
        )
        yield app


def statements_for(app, path: str, expected_items: int) -> list[str]:
    """The store's statements while the app answers `path` (its revision checks left out: they
    run at most once a second, whatever the request)."""
    client = app.test_client()
    with app.extensions["kb"].store.traced() as statements:
        response = client.get(path)
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == expected_items
    return [s for s in statements if "FROM meta" not in s]


@pytest.mark.parametrize("table", TABLES)
def test_a_page_of_100_costs_the_statements_of_a_page_of_10(app, table: str) -> None:
    ten = statements_for(app, f"/v1/{table}?limit=10", 10)
    hundred = statements_for(app, f"/v1/{table}?limit=100", 100)
    assert len(hundred) == len(ten)
    assert len(ten) <= 8


def test_a_page_of_articles_is_what_each_article_says_of_itself(app) -> None:
    client = app.test_client()
    page = client.get("/v1/articles?limit=100&cursor=800000").get_json()["items"]
    assert [a["id"] for a in page[:3]] == ["800001", "800002", "800003"]
    for summary in page[:3]:
        article = client.get(f"/v1/articles/{summary['id']}").get_json()
        assert summary["applies_to"] == article["applies_to"]
        assert summary["keywords"] == article["keywords"] == ["kbtest"]
        assert summary["issue_ids"] == [i["id"] for i in article["issues"]]


def test_details_of_several_issues_are_those_of_each_read_alone(app) -> None:
    store = app.extensions["kb"].store
    ids = ["264630-1", "264630-2", "800007-1", "900001-1", "no-such-issue"]
    together = store.issues_details(ids)
    assert sorted(together) == sorted(ids[:-1])
    for issue_id in ids[:-1]:
        assert together[issue_id] == store.issue_details(issue_id)
    with store.traced() as statements:
        store.issues_details(ids)
    assert len(statements) <= 12


def test_an_answer_reads_its_matches_records_in_as_many_statements_for_3_as_for_10(app) -> None:
    knowledge = app.extensions["kb"]
    client = app.test_client()
    # Said by every numbered copy: a match of many issues, none of them explained before.
    paste = "Inventory Agent failed to write the cache file, error 0x80070005"
    counts = []
    for limit in (3, 10):
        knowledge.explain_cache().forget(None)
        with knowledge.store.traced() as statements:
            response = client.post(
                f"/v1/match?limit={limit}", data=paste, content_type="text/plain"
            )
        assert response.status_code == 200
        assert len(response.get_json()["matches"]) == limit
        counts.append(len([s for s in statements if "FROM meta" not in s]))
    assert counts[0] == counts[1]
    assert counts[1] <= 12

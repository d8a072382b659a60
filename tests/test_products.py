"""Products and versions as people name them: `/v1/products`, and the `product` and `version`
filters of matches, searches and lists, with what they left out said."""

from __future__ import annotations

import pytest
from flask import Flask

from service import products as products_module
from service.products import (
    CATALOG_FEW_WRITES,
    ProductName,
    catalog,
    resolve_product,
    version_covers,
    version_keys,
)
from tests.helpers import widget_article
from tests.test_match import ISSUE1_LINES, match
from tests.test_writes import ARTICLE, AUTH, TOKEN

SMS = "Microsoft Systems Management Server"
# Product names as an archive of articles writes them.
NAMES = [
    ProductName.of(name)
    for name in (
        SMS,
        "Microsoft Disk Operating System",
        "Microsoft Windows NT",
        "Microsoft SourceSafe",
        "Open Database Connectivity (ODBC)",
        "Microsoft Exchange",
        "Internet Information Server",
        "The Microsoft Network",
    )
]
# A seed line with another article's line: one match of each product.
TWO_PRODUCTS = (
    ISSUE1_LINES[5] + "\nInventory Agent failed to write the cache file, error 0x80070005\n"
)


# The products listing and every filter read the store: each runs against SQLite and
# PostgreSQL.
@pytest.fixture(scope="module")
def app(backend_app: Flask) -> Flask:
    return backend_app


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("SMS", [SMS]),
        ("sms", [SMS]),
        ("Systems Management", [SMS]),
        ("systems  MANAGEMENT server", [SMS]),
        ("SystemsManagement Server", [SMS]),
        ("Microsoft SMS", [SMS]),
        ("Systems Manag", [SMS]),
        ("MS-DOS", ["Microsoft Disk Operating System"]),
        ("dos", ["Microsoft Disk Operating System"]),
        ("NT", ["Microsoft Windows NT"]),
        ("Source Safe", ["Microsoft SourceSafe"]),
        ("odbc", ["Open Database Connectivity (ODBC)"]),
        ("MS Exchange", ["Microsoft Exchange"]),
        ("IIS", ["Internet Information Server"]),
        ("MSN", ["The Microsoft Network"]),
        ("Exchnage", []),
        ("ms", []),
    ],
)
def test_a_product_filter_stands_for_the_names_people_mean(typed: str, names) -> None:
    assert resolve_product(NAMES, typed) == names


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("2.0 SP2", "2.0 Service Pack 2"),
        ("2.0 SP2", "2.00 sp2"),
        ("2.0 SP2", "2.0sp2"),
        ("4.0", "4.00"),
        ("3.5", "3.50"),
        ("6.5 SP4", "6.5 Service Pack 4"),
        ("2.0", "v2.0"),
    ],
)
def test_spellings_of_one_version_are_one_version(one: str, other: str) -> None:
    assert version_keys(one)[0][0] == version_keys(other)[0][0]


@pytest.mark.parametrize(
    ("asked", "written", "covered"),
    [
        ("2.0", "2.0 SP1", True),
        ("2.0", "2.0", True),
        ("2.0", "2.1", False),
        ("2", "2000", False),
        ("2.0 SP2", "2.0 SP1", False),
        ("2.0 SP2", "2.0", False),
        ("SP2", "2.0 SP2", True),
        ("SP2", "1.2 SP2", True),
        ("4.0", "3.5 3.51 4.0", True),
        ("1.2", "1.0; winnt:1.2", False),
        ("Gold", "gold", True),
    ],
)
def test_a_version_filter_covers_its_service_packs_and_no_other_release(
    asked: str, written: str, covered: bool
) -> None:
    keys = [key for key, _ in version_keys(written)]
    assert any(version_covers(version_keys(asked)[0][0], k) for k in keys) is covered


def test_products_lists_each_product_with_versions_counts_and_short_names(client) -> None:
    response = client.get("/v1/products")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == len(body["products"]) == 2
    sms = next(p for p in body["products"] if p["product"] == SMS)
    assert sms["articles"] == 1
    assert "SMS" in sms["aliases"]
    assert sms["versions"] == [
        {"version": "2.0", "articles": 1},
        {"version": "2.0 SP1", "articles": 1},
    ]


def test_products_narrowed_by_a_product_filter_or_the_closest_known(client) -> None:
    body = client.get("/v1/products?product=sms").get_json()
    assert [p["product"] for p in body["products"]] == [SMS]
    unknown = client.get("/v1/products?product=Systms%20Managment").get_json()
    assert unknown["products"] == []
    assert unknown["closest_products"][0] == SMS


def test_products_follow_the_articles_written(backend: str, make_app) -> None:
    app = make_app(api_tokens=[TOKEN])
    client = app.test_client()
    assert "Test Product" in [
        p["product"] for p in client.get("/v1/products").get_json()["products"]
    ]
    article = {**ARTICLE, "applies_to": [{"product": "Widget Server", "version": "3.1 SP2"}]}
    assert client.put("/v1/articles/900100", json=article, headers=AUTH).status_code in (200, 201)
    products = client.get("/v1/products").get_json()["products"]
    widget = next(p for p in products if p["product"] == "Widget Server")
    assert widget["versions"] == [{"version": "3.1 SP2", "articles": 1}]
    assert "WS" in widget["aliases"]


def test_a_bulk_import_does_not_make_every_request_count_the_products_again(
    make_app, monkeypatch
) -> None:
    app = make_app(api_tokens=[TOKEN])
    client = app.test_client()
    knowledge = app.extensions["kb"]
    first = catalog(knowledge)
    # Writes arriving in bulk: the catalog made a moment ago is kept for a while.
    for number in range(CATALOG_FEW_WRITES + 1):
        article_id = f"9002{number:02d}"
        article = widget_article(article_id, "A bulk-imported widget note.")
        article["applies_to"] = [{"product": f"Bulk Product {number}", "version": "1.0"}]
        response = client.put(f"/v1/articles/{article_id}", json=article, headers=AUTH)
        assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert catalog(knowledge) is first
    # Once the catalog is older than the refresh interval, it is counted again.
    monkeypatch.setattr(products_module, "CATALOG_REFRESH_SECONDS", 0.0)
    products = {p["product"] for p in client.get("/v1/products").get_json()["products"]}
    assert {"Bulk Product 0", f"Bulk Product {CATALOG_FEW_WRITES}"} <= products


@pytest.mark.parametrize(
    "query",
    [
        {"product": "SMS"},
        {"product": "microsoft sms"},
        {"product": "Systems Management Server"},
        {"version": "2.0 Service Pack 1"},
        {"version": "2.0"},
        {"product": "SMS", "version": "2.0 sp1"},
    ],
)
def test_forgiving_filters_keep_the_seed_match(client, query) -> None:
    body = match(client, ISSUE1_LINES[5], **query)
    assert [m["issue_id"] for m in body["matches"]] == ["264630-1"]
    assert body["filters"]["hidden_matches"] == 0
    assert body["filters"]["note"] == ""


def test_what_a_filter_stands_for_is_in_the_answer(client) -> None:
    body = match(client, ISSUE1_LINES[5], product="sms", version="2")
    assert body["filters"]["products"] == [SMS]
    assert body["filters"]["versions"] == ["2.0", "2.0 SP1"]
    assert "filters" not in match(client, ISSUE1_LINES[5])


def test_a_version_filter_that_hides_the_match_says_so_instead_of_asking_for_more_log(
    client,
) -> None:
    body = match(client, ISSUE1_LINES[5], product="SMS", version="2.0 SP2")
    assert body["matches"] == []
    filters = body["filters"]
    assert filters["hidden_matches"] == 1
    assert filters["hidden_by"] == ["version"]
    assert filters["versions"] == []
    assert "2.0 SP1" in filters["closest_versions"]
    assert "left out by version=2.0 SP2" in body["hint"]
    assert f"{SMS} 2.0, 2.0 SP1" in body["hint"]
    assert "Paste more" not in body["hint"]


def test_an_unknown_product_lists_the_closest_known_ones(client) -> None:
    body = match(client, ISSUE1_LINES[5], product="Sytems Managment")
    assert body["matches"] == []
    assert body["filters"]["products"] == []
    assert body["filters"]["closest_products"][0] == SMS
    assert body["filters"]["hidden_by"] == ["product"]
    assert SMS in body["hint"]


def test_a_filter_hides_other_products_and_keeps_the_ranking_of_the_rest(client) -> None:
    everything = match(client, TWO_PRODUCTS)
    assert {m["issue_id"] for m in everything["matches"]} == {"264630-1", "900001-1"}
    filtered = match(client, TWO_PRODUCTS, product="SMS")
    assert filtered["filters"]["hidden_matches"] == 1
    assert filtered["filters"]["hidden_by"] == ["product"]
    kept = [m for m in everything["matches"] if m["article_id"] == "264630"]
    assert [(m["issue_id"], m["score"], m["confidence"]) for m in filtered["matches"]] == [
        (m["issue_id"], m["score"], m["confidence"]) for m in kept
    ]


@pytest.mark.parametrize("media", ["text/markdown", "text/plain"])
def test_people_read_what_the_filter_left_out(client, media: str) -> None:
    response = client.post(
        "/v1/match",
        data=TWO_PRODUCTS,
        content_type="text/plain",
        query_string={"product": "SMS"},
        headers={"Accept": media},
    )
    text = " ".join(response.get_data(as_text=True).split())
    assert "1 matching issue left out by product=SMS" in text


def test_search_takes_a_forgiving_product_and_says_what_it_left_out(client) -> None:
    found = client.get("/v1/search", query_string={"q": "copylog clicore", "product": "sms"})
    body = found.get_json()
    assert [r["article_id"] for r in body["results"]] == ["264630"]
    assert body["filters"]["products"] == [SMS]
    other = client.get(
        "/v1/search", query_string={"q": "copylog clicore", "product": "Test Product"}
    ).get_json()
    assert other["results"] == []
    assert other["filters"]["hidden_matches"] == 1
    assert "1 matching article left out by product=Test Product" in other["filters"]["note"]
    unknown = client.get("/v1/search", query_string={"q": "copylog", "product": "Exchange"})
    assert unknown.get_json()["filters"]["closest_products"]
    assert "filters" not in client.get("/v1/search", query_string={"q": "copylog"}).get_json()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("product=sms&version=2.0%20Service%20Pack%201", ["264630"]),
        ("product=SMS&version=2.0", ["264630"]),
        ("version=2.0%20sp2", []),
        ("product=TP", ["900001"]),
        ("product=nothing%20like%20it", []),
    ],
)
def test_record_lists_take_the_same_forgiving_filters(client, query: str, expected) -> None:
    assert [a["id"] for a in client.get(f"/v1/articles?{query}").get_json()["items"]] == expected

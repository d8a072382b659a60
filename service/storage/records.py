"""Reading the records: articles, issues, symptoms, causes, workarounds, as plain dicts.

Linked records are read in one statement per kind of link for a whole set of parents, never
one per row: a page of 200 records costs as many statements as a page of one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from service.storage.connection import Database, placeholders

# Ids per statement when the records of many parents are looked up together, well under the
# parameters a statement may have (SQLite 32,766, PostgreSQL 65,535).
ISSUE_LOOKUP_CHUNK = 2_000

RECORD_TABLES = ("articles", "issues", "symptoms", "causes", "workarounds")


class ArticleNotFound(LookupError):
    """No article has that id or alias."""


def _check_table(table: str) -> None:
    if table not in RECORD_TABLES:
        raise ValueError(f"unknown record table {table!r}")


class RecordReads(Database):
    """Reads of articles and their linked records."""

    def _children(self, sql: str, ids: list[str]) -> dict[str, list[Any]]:
        """Rows of `sql` (its first column the parent id, `{ids}` where the ids go) grouped by
        parent, in the order the statement gives them."""
        grouped: dict[str, list[Any]] = {}
        for start in range(0, len(ids), ISSUE_LOOKUP_CHUNK):
            chunk = ids[start : start + ISSUE_LOOKUP_CHUNK]
            for row in self._conn.execute(sql.format(ids=placeholders(chunk)), chunk):
                grouped.setdefault(row[0], []).append(row)
        return grouped

    # -- articles -----------------------------------------------------------------------------

    def count(self, table: str) -> int:
        """How many records one of RECORD_TABLES holds."""
        _check_table(table)
        return self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def resolve_article_id(self, name: str) -> str:
        """Turn an id or alias (264630, Q264630, KB264630) into the article's id."""
        conn = self._conn
        row = conn.execute("SELECT id FROM articles WHERE id=?", (name,)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT article_id AS id FROM article_aliases WHERE alias=?", (name,)
            ).fetchone()
        if row is None:
            raise ArticleNotFound(name)
        return row["id"]

    def article_source(self, article_id: str) -> str | None:
        """Where an article came from (curated, imported, api), or None when absent."""
        row = self._conn.execute("SELECT source FROM articles WHERE id=?", (article_id,)).fetchone()
        return row["source"] if row else None

    def existing_article_ids(self, ids: list[str]) -> set[str]:
        """The subset of `ids` that are articles in the store (for resolving links)."""
        if not ids:
            return set()
        rows = self._conn.execute(f"SELECT id FROM articles WHERE id IN ({placeholders(ids)})", ids)
        return {row["id"] for row in rows}

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """The whole article: its fields and every linked record, nested."""
        one = [article_id]
        # Every part in one round trip where the store is across a socket: none of these
        # statements needs another's result. Products, keywords, sections and related articles
        # (with whether each is in the store) share one statement, a row per item saying which
        # part it is of, in the part's order.
        found, aliases, items, referrers, *records = self._read_together(
            [
                ("SELECT * FROM articles WHERE id=?", one),
                ("SELECT alias FROM article_aliases WHERE article_id=? ORDER BY alias", one),
                (_ARTICLE_PARTS, one * 4),
                (
                    "SELECT DISTINCT article_id FROM related_articles WHERE target_id=?"
                    " ORDER BY article_id",
                    one,
                ),
                *_record_statements("issues", "i.article_id=?", one, record_ids=False),
                *_record_statements("symptoms", "s.article_id=?", one),
                *_record_statements("causes", "c.article_id=?", one),
                *_record_statements("workarounds", "w.article_id=?", one),
            ]
        )
        if not found:
            return None
        article = dict(found[0])
        article["aliases"] = [r["alias"] for r in aliases]
        parts: dict[int, list[Any]] = {0: [], 1: [], 2: [], 3: []}
        for r in items:
            parts[r["part"]].append(r)
        article["applies_to"] = [{"product": r["a"], "version": r["b"]} for r in parts[0]]
        article["keywords"] = [r["a"] for r in parts[1]]
        article["sections"] = [{"key": r["a"], "heading": r["b"], "body": r["c"]} for r in parts[2]]
        article["related"] = [_related(r["a"], r["b"], r["c"], r["present"]) for r in parts[3]]
        article["referenced_by"] = [r["article_id"] for r in referrers]
        issues_rows, symptom_rows, cause_rows, workaround_rows, step_rows = records
        issues = [dict(r) for r in issues_rows]
        symptoms = _symptom_records(symptom_rows)
        causes = _cause_records(cause_rows)
        workarounds = _workaround_records(workaround_rows, step_rows)
        # Every record an issue links to is one of its article's (load_article_document checks
        # it), all read just above in their order: the issues' record ids are taken from them
        # rather than read again, three statements fewer per article.
        for issue in issues:
            issue_id = issue["id"]
            issue["symptom_ids"] = [r["id"] for r in symptoms if r["issue_id"] == issue_id]
            issue["cause_ids"] = [r["id"] for r in causes if issue_id in r["issue_ids"]]
            issue["workaround_ids"] = [r["id"] for r in workarounds if issue_id in r["issue_ids"]]
        article["issues"] = issues
        article["symptoms"] = symptoms
        article["causes"] = causes
        article["workarounds"] = workarounds
        return article

    def related_articles(self, article_id: str) -> list[dict[str, Any]]:
        """The articles an article names as related, in its order: id, title, reason, and
        whether it is in the store."""
        return self.related_articles_of([article_id]).get(article_id, [])

    def related_articles_of(self, article_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """`related_articles` of several articles in one statement, by article id (articles
        naming none left out)."""
        if not article_ids:
            return {}
        related: dict[str, list[dict[str, Any]]] = {}
        rows = self._conn.execute(
            "SELECT r.article_id AS source, r.target_id AS article_id, r.title, r.reason,"
            " CASE WHEN EXISTS (SELECT 1 FROM articles x WHERE x.id = r.target_id)"
            " THEN 1 ELSE 0 END AS present"
            f" FROM related_articles r WHERE r.article_id IN ({placeholders(article_ids)})"
            # The table's columns, not the result's: `article_id` alone would be the target's
            # (an output column's name wins in ORDER BY), listing them by number, not in order.
            " ORDER BY r.article_id, r.position",
            list(article_ids),
        )
        for row in rows:
            related.setdefault(row["source"], []).append(
                _related(row["article_id"], row["title"], row["reason"], row["present"])
            )
        return related

    def products_of_article(self, article_id: str) -> list[tuple[str, str]]:
        """(product, version) of each product an article applies to, in its order."""
        return [
            (r["product"], r["version"])
            for r in self._conn.execute(
                "SELECT product, version FROM article_products WHERE article_id=? ORDER BY position",
                (article_id,),
            )
        ]

    def product_names(self) -> list[str]:
        """Every product name the articles use, once each."""
        return [
            row[0] for row in self._conn.execute("SELECT DISTINCT product FROM article_products")
        ]

    def product_version_counts(self) -> list[tuple[str, str, int]]:
        """(product, version as written, articles) for each pair the articles name (an
        article naming one pair twice counts twice: counting distinct ids costs a sort)."""
        return [
            (row[0], row[1], row[2])
            for row in self._conn.execute(
                "SELECT product, version, COUNT(*) FROM article_products GROUP BY product, version"
            )
        ]

    def product_counts(self) -> dict[str, int]:
        """Articles per product name."""
        return {
            row[0]: row[1]
            for row in self._conn.execute(
                "SELECT product, COUNT(DISTINCT article_id) FROM article_products GROUP BY product"
            )
        }

    def article_summaries(self, article_ids: list[str]) -> list[dict[str, Any]]:
        """Articles' own fields without their records, for lists, in the order of `article_ids`
        (ids of no article are left out)."""
        if not article_ids:
            return []
        rows = self._children(
            "SELECT id, title, summary, modification_type, last_reviewed, source, updated_at"
            " FROM articles WHERE id IN ({ids})",
            article_ids,
        )
        found = {article_id: dict(group[0]) for article_id, group in rows.items()}
        ids = [i for i in article_ids if i in found]
        products = self._children(
            "SELECT article_id, product, version FROM article_products"
            " WHERE article_id IN ({ids}) ORDER BY position",
            ids,
        )
        keywords = self._children(
            "SELECT article_id, keyword FROM article_keywords WHERE article_id IN ({ids})"
            " ORDER BY rowid",
            ids,
        )
        issues = self._children(
            "SELECT article_id, id FROM issues WHERE article_id IN ({ids}) ORDER BY number", ids
        )
        summaries = []
        for article_id in ids:
            article = found[article_id]
            article["applies_to"] = [
                {"product": r["product"], "version": r["version"]}
                for r in products.get(article_id, [])
            ]
            article["keywords"] = [r["keyword"] for r in keywords.get(article_id, [])]
            article["issue_ids"] = [r["id"] for r in issues.get(article_id, [])]
            summaries.append(article)
        return summaries

    def article_text(self, article_id: str) -> dict[str, Any] | None:
        """What `article_lines` (service/article_text.py) reads of a stored article, no more.

        One statement for the four parts (a match shows an article's line from it, where the
        store may be across a socket): each row says which part it is of, in the part's order.
        """
        rows = self._conn.execute(
            "SELECT 0 AS part, NULL AS id, NULL AS n, title AS text, NULL AS description"
            " FROM articles WHERE id=?"
            " UNION ALL SELECT 1, id, number, title, description FROM issues WHERE article_id=?"
            " UNION ALL SELECT 2, issue_id, position, text, NULL FROM symptoms WHERE article_id=?"
            " UNION ALL SELECT 3, NULL, position, body, NULL FROM sections WHERE article_id=?"
            " ORDER BY part, n",
            (article_id,) * 4,
        ).fetchall()
        if not rows or rows[0]["part"] != 0:
            return None
        parts: dict[int, list[Any]] = {1: [], 2: [], 3: []}
        for row in rows[1:]:
            parts[row["part"]].append(row)
        return {
            "title": rows[0]["text"],
            "issues": [
                {
                    "id": r["id"],
                    "number": r["n"],
                    "title": r["text"],
                    "description": r["description"],
                }
                for r in parts[1]
            ],
            "symptoms": [{"issue_id": r["id"], "text": r["text"]} for r in parts[2]],
            "sections": [{"body": r["text"]} for r in parts[3]],
        }

    # -- issues and their records -------------------------------------------------------------

    def get_issue(self, issue_id: str) -> dict[str, Any] | None:
        """One issue with the ids of its symptoms, causes and workarounds."""
        return self._record("issues", "i.id=?", issue_id)

    def issue_details(self, issue_id: str) -> dict[str, Any] | None:
        """An issue with its symptoms, causes and workarounds (with steps) inlined."""
        return self.issues_details([issue_id]).get(issue_id)

    def issues_details(self, issue_ids: list[str]) -> dict[str, dict[str, Any]]:
        """`issue_details` of several issues at once, by issue id (unknown ids left out)."""
        ids = list(dict.fromkeys(issue_ids))
        if not ids:
            return {}
        marks = placeholders(ids)
        # The records' ids are those of the records read with them, in the same order: reading
        # them apart as well would be three statements more per answer.
        found = self._read_records(
            [
                ("issues", f"i.id IN ({marks})", ids),
                ("symptoms", f"s.issue_id IN ({marks})", ids),
                (
                    "causes",
                    f"c.id IN (SELECT cause_id FROM cause_issues WHERE issue_id IN ({marks}))",
                    ids,
                ),
                (
                    "workarounds",
                    f"w.id IN (SELECT workaround_id FROM workaround_issues WHERE issue_id IN ({marks}))",
                    ids,
                ),
            ],
            record_ids=False,
        )
        issues = {i["id"]: i for i in found["issues"]}
        for issue in issues.values():
            issue["symptoms"], issue["causes"], issue["workarounds"] = [], [], []
        for symptom in found["symptoms"]:
            issues[symptom["issue_id"]]["symptoms"].append(symptom)
        for key in ("causes", "workarounds"):
            for record in found[key]:
                owners = [issue_id for issue_id in record["issue_ids"] if issue_id in issues]
                for n, issue_id in enumerate(owners):
                    # A record shared by two of these issues is theirs to change apart: the
                    # first has the record read, each other one a copy.
                    issues[issue_id][key].append(record if n == 0 else copy.deepcopy(record))
        for issue in issues.values():
            issue["symptom_ids"] = [s["id"] for s in issue["symptoms"]]
            issue["cause_ids"] = [c["id"] for c in issue["causes"]]
            issue["workaround_ids"] = [w["id"] for w in issue["workarounds"]]
        return issues

    def get_symptom(self, symptom_id: str) -> dict[str, Any] | None:
        return self._record("symptoms", "s.id=?", symptom_id)

    def get_cause(self, cause_id: str) -> dict[str, Any] | None:
        return self._record("causes", "c.id=?", cause_id)

    def get_workaround(self, workaround_id: str) -> dict[str, Any] | None:
        return self._record("workarounds", "w.id=?", workaround_id)

    def _record(self, kind: str, where: str, record_id: str) -> dict[str, Any] | None:
        rows = self._read_records([(kind, where, [record_id])])[kind]
        return rows[0] if rows else None

    def issue_ids_by_number(self, article_ids: list[str]) -> dict[tuple[str, int], str]:
        """(article id, issue number) -> issue id, for the given articles."""
        rows = self._children(
            "SELECT article_id, number, id FROM issues WHERE article_id IN ({ids})", article_ids
        )
        return {(row[0], row[1]): row[2] for group in rows.values() for row in group}

    def issue_titles(self, article_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The issues of each of these articles, id and title each, in their order; read in
        one statement, not one per article."""
        titles: dict[str, list[dict[str, Any]]] = {article_id: [] for article_id in article_ids}
        if not article_ids:
            return titles
        rows = self._conn.execute(
            "SELECT article_id, id, title FROM issues"
            f" WHERE article_id IN ({placeholders(article_ids)}) ORDER BY article_id, number",
            list(article_ids),
        )
        for row in rows:
            titles[row[0]].append({"id": row[1], "title": row[2]})
        return titles

    def _read_records(
        self, wanted: list[tuple[str, str, list[Any]]], record_ids: bool = True
    ) -> dict[str, list[dict[str, Any]]]:
        """Records of several kinds in one round trip: for each (kind, where, params), the
        records of that kind `where` picks (its table's alias the kind's initial: `i.`, `s.`,
        `c.`, `w.`), workarounds with their steps, issues with the ids of their records unless
        `record_ids` is false."""
        statements = [
            statement
            for kind, where, params in wanted
            for statement in _record_statements(kind, where, params, record_ids)
        ]
        rows = iter(self._read_together(statements))
        found: dict[str, list[dict[str, Any]]] = {}
        for kind, _, _ in wanted:
            if kind == "issues":
                found[kind] = _issue_records(next(rows), next(rows) if record_ids else None)
            elif kind == "workarounds":
                found[kind] = _workaround_records(next(rows), next(rows))
            else:
                found[kind] = _RECORD_MAKERS[kind](next(rows))
        return found

    # -- lists --------------------------------------------------------------------------------

    def list_records(
        self,
        table: str,
        *,
        limit: int,
        after: str | None = None,
        products: list[str] | None = None,
        versions: list[str] | None = None,
        keyword: str | None = None,
        article_id: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of records ordered by id, filtered by their article; returns (page, next).

        `products` and `versions` are names as stored (None: any): an article passes when one
        of the products it applies to is among the first at one of the second.
        """
        _check_table(table)
        article_column = "id" if table == "articles" else "article_id"
        clauses: list[str] = []
        params: list[Any] = []
        if after is not None:
            clauses.append("t.id > ?")
            params.append(after)
        if article_id is not None:
            clauses.append(f"t.{article_column} = ?")
            params.append(article_id)
        if products is not None or versions is not None:
            sub = "SELECT article_id FROM article_products WHERE 1=1"
            if products is not None:
                sub += f" AND product IN ({placeholders(products)})"
                params += products
            if versions is not None:
                sub += f" AND version IN ({placeholders(versions)})"
                params += versions
            clauses.append(f"t.{article_column} IN ({sub})")
        if keyword:
            clauses.append(
                f"t.{article_column} IN (SELECT article_id FROM article_keywords WHERE keyword = ?)"
            )
            params.append(keyword)
        where = " AND ".join(clauses) or "1=1"
        rows = self._conn.execute(
            f"SELECT t.id FROM {table} t WHERE {where} ORDER BY t.id LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        ids = [row["id"] for row in rows]
        next_after = ids[limit - 1] if len(ids) > limit else None
        ids = ids[:limit]
        return self._records(table, ids), next_after

    def _records(self, table: str, ids: list[str]) -> list[dict[str, Any]]:
        """The records of `ids` in that order, each read the way its own getter reads it."""
        if table == "articles":
            return self.article_summaries(ids)
        if not ids:
            return []
        marks = placeholders(ids)
        alias = table[0]
        records = self._read_records([(table, f"{alias}.id IN ({marks})", ids)])[table]
        found = {r["id"]: r for r in records}
        return [found[i] for i in ids if i in found]

    # -- samples for benchmarks ---------------------------------------------------------------

    def record_ids(self, table: str) -> list[str]:
        """Every id of one of RECORD_TABLES, in order."""
        _check_table(table)
        return [row["id"] for row in self._conn.execute(f"SELECT id FROM {table} ORDER BY id")]

    def titles(self, table: str) -> dict[str, str]:
        """Id -> title of every article or issue."""
        if table not in ("articles", "issues"):
            raise ValueError(f"{table!r} records have no title")
        return {
            row["id"]: row["title"] for row in self._conn.execute(f"SELECT id, title FROM {table}")
        }

    def quoted_lines(self) -> list[tuple[str, str, str]]:
        """(article id, kind, text) of every symptom that quotes a line (no condition), by id."""
        return [
            (row["article_id"], row["kind"], row["text"])
            for row in self._conn.execute(
                "SELECT article_id, kind, text FROM symptoms WHERE kind != 'condition' ORDER BY id"
            )
        ]

    def quoted_line_at(self, offset: int) -> str | None:
        """The text of the `offset`-th symptom that quotes a line, in the store's own order."""
        row = self._conn.execute(
            "SELECT text FROM symptoms WHERE kind != 'condition' LIMIT 1 OFFSET ?", (offset,)
        ).fetchone()
        return row["text"] if row else None

    def first_products(self) -> dict[str, str]:
        """Article id -> the first product it applies to."""
        products: dict[str, str] = {}
        for row in self._conn.execute(
            "SELECT article_id, product FROM article_products ORDER BY article_id, position"
        ):
            products.setdefault(row["article_id"], row["product"])
        return products


# An article's products, keywords, sections and related articles (with whether each is in the
# store): a row per item saying which part it is of, in the part's order.
_ARTICLE_PARTS = (
    "SELECT 0 AS part, position AS n, product AS a, version AS b, NULL AS c,"
    " CAST(NULL AS INTEGER) AS present FROM article_products WHERE article_id=?"
    " UNION ALL SELECT 1, rowid, keyword, NULL, NULL, NULL FROM article_keywords"
    " WHERE article_id=?"
    " UNION ALL SELECT 2, position, key, heading, body, NULL FROM sections"
    " WHERE article_id=?"
    " UNION ALL SELECT 3, position, target_id, title, reason,"
    " CASE WHEN EXISTS (SELECT 1 FROM articles x WHERE x.id = r.target_id) THEN 1 ELSE 0 END"
    " FROM related_articles r WHERE r.article_id=?"
    " ORDER BY part, n"
)
# Each kind of record as read, `{where}` the condition that picks them.
_RECORD_SQL = {
    "issues": "SELECT i.id, i.article_id, i.number, i.title, i.description,"
    " a.title AS article_title"
    " FROM issues i JOIN articles a ON a.id = i.article_id WHERE {where}"
    " ORDER BY i.article_id, i.number",
    "symptoms": "SELECT s.id, s.issue_id, s.article_id, s.kind, s.text, s.log_files,"
    " s.occurrences FROM symptoms s WHERE {where} ORDER BY s.article_id, s.position",
    "causes": "SELECT c.id, c.article_id, c.text, c.missing_update, c.applies_to_sites,"
    " ci.issue_id AS linked_issue FROM causes c"
    " LEFT JOIN cause_issues ci ON ci.cause_id = c.id WHERE {where}"
    " ORDER BY c.article_id, c.position, ci.issue_id",
    "workarounds": "SELECT w.id, w.article_id, w.title, w.description, w.preconditions,"
    " w.warnings, wi.issue_id AS linked_issue FROM workarounds w"
    " LEFT JOIN workaround_issues wi ON wi.workaround_id = w.id WHERE {where}"
    " ORDER BY w.article_id, w.position, wi.issue_id",
}
# The ids of the issues' symptoms, causes and workarounds: a row per link saying which kind it
# is, each kind in its records' order.
_ISSUE_RECORD_IDS = (
    "WITH picked AS (SELECT i.id FROM issues i WHERE {where})"
    " SELECT 0 AS part, issue_id, id AS record_id, position FROM symptoms"
    " WHERE issue_id IN (SELECT id FROM picked)"
    " UNION ALL SELECT 1, ci.issue_id, ci.cause_id, c.position FROM cause_issues ci"
    " JOIN causes c ON c.id = ci.cause_id WHERE ci.issue_id IN (SELECT id FROM picked)"
    " UNION ALL SELECT 2, wi.issue_id, wi.workaround_id, w.position"
    " FROM workaround_issues wi JOIN workarounds w ON w.id = wi.workaround_id"
    " WHERE wi.issue_id IN (SELECT id FROM picked)"
    " ORDER BY part, position"
)
# The steps of the workarounds `{where}` picks: read with them, not after them, so that the
# two go to the database together.
_STEPS = (
    "SELECT workaround_id, id, number, text, warnings, notes FROM steps"
    " WHERE workaround_id IN (SELECT w.id FROM workarounds w WHERE {where}) ORDER BY number"
)


def _record_statements(
    kind: str, where: str, params: list[Any], record_ids: bool = True
) -> list[tuple[str, list[Any]]]:
    """The statements that read the records of `kind` that `where` picks: one, or two for
    workarounds (their steps) and issues with their records' ids."""
    statements = [(_RECORD_SQL[kind].format(where=where), params)]
    if kind == "workarounds":
        statements.append((_STEPS.format(where=where), params))
    elif kind == "issues" and record_ids:
        statements.append((_ISSUE_RECORD_IDS.format(where=where), params))
    return statements


def _issue_records(rows: list[Any], linked_rows: list[Any] | None) -> list[dict[str, Any]]:
    """Issues as read, with the ids of their records when `linked_rows` were read too."""
    issues = [dict(row) for row in rows]
    if linked_rows is None:
        return issues
    linked: dict[tuple[int, str], list[str]] = {}
    for row in linked_rows:
        linked.setdefault((row["part"], row["issue_id"]), []).append(row["record_id"])
    for issue in issues:
        issue_id = issue["id"]
        issue["symptom_ids"] = linked.get((0, issue_id), [])
        issue["cause_ids"] = linked.get((1, issue_id), [])
        issue["workaround_ids"] = linked.get((2, issue_id), [])
    return issues


def _symptom_records(rows: list[Any]) -> list[dict[str, Any]]:
    symptoms = []
    for row in rows:
        symptom = dict(row)
        symptom["log_files"] = json.loads(symptom["log_files"])
        symptoms.append(symptom)
    return symptoms


def _cause_records(rows: list[Any]) -> list[dict[str, Any]]:
    return _with_issue_ids(rows, ("id", "article_id", "text", "missing_update", "applies_to_sites"))


def _workaround_records(rows: list[Any], step_rows: list[Any]) -> list[dict[str, Any]]:
    workarounds = _with_issue_ids(
        rows, ("id", "article_id", "title", "description", "preconditions", "warnings")
    )
    steps: dict[str, list[Any]] = {}
    for row in step_rows:
        steps.setdefault(row["workaround_id"], []).append(row)
    for workaround in workarounds:
        workaround["preconditions"] = json.loads(workaround["preconditions"])
        workaround["warnings"] = json.loads(workaround["warnings"])
        workaround["steps"] = [
            {
                "id": r["id"],
                "number": r["number"],
                "text": r["text"],
                "warnings": json.loads(r["warnings"]),
                "notes": json.loads(r["notes"]),
            }
            for r in steps.get(workaround["id"], [])
        ]
    return workarounds


_RECORD_MAKERS: dict[str, Callable[[list[Any]], list[dict[str, Any]]]] = {
    "symptoms": _symptom_records,
    "causes": _cause_records,
}


def _with_issue_ids(rows: list[Any], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Records read joined to their links (a row per linked issue, `linked_issue`, one row with
    none when unlinked; a record's rows together): each record once, `columns` then
    `issue_ids`, in the rows' order."""
    records: list[dict[str, Any]] = []
    for row in rows:
        if not records or records[-1]["id"] != row["id"]:
            records.append({name: row[name] for name in columns})
            records[-1]["issue_ids"] = []
        if row["linked_issue"] is not None:
            records[-1]["issue_ids"].append(row["linked_issue"])
    return records


def _related(article_id: str, title: str, reason: str, present: Any) -> dict[str, Any]:
    """An article named as related, as every read gives it."""
    return {"article_id": article_id, "title": title, "reason": reason, "in_store": bool(present)}

"""The curated seed: valid, complete (nothing of the article lost), and clear when broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from service.config import PROJECT_ROOT
from service.curated import CuratedDataError, load_curated, load_file
from tests.helpers import SEED_TEXT

LOG_HEADINGS = (
    "Wn_logon and Wnmanual.log",
    "SMSCLI.LOG",
    "Clisvc.log",
    "CLICORE.LOG",
    "Launch32.log",
    "Ccim32.log",
)


def quoted_log_lines(text: str) -> list[str]:
    """The lines the seed quotes under its log headings, up to "Issue 2"."""
    lines = text.split("Issue 1", 1)[1].split("\nIssue 2", 1)[0].splitlines()
    quoted, inside = [], False
    for raw in lines:
        line = raw.rstrip()
        if line.strip() in LOG_HEADINGS:
            inside = True
            continue
        if inside and line.strip():
            quoted.append(line)
    return quoted


def test_the_seed_is_valid() -> None:
    documents = load_curated(PROJECT_ROOT / "kb_data")
    assert [d["id"] for d in documents] == ["264630"]


def test_every_quoted_log_line_of_the_seed_is_a_symptom(client) -> None:
    expected = quoted_log_lines(SEED_TEXT.read_text(encoding="utf-8"))
    assert len(expected) == 41
    symptoms, url = [], "/v1/symptoms?article_id=264630&limit=200"
    while url:
        page = client.get(url).get_json()
        symptoms += page["items"]
        url = page["links"].get("next")
    texts = {s["text"] for s in symptoms if s["kind"] == "log_line"}
    assert sorted(set(expected) - texts) == []
    occurrences = {s["text"]: s["occurrences"] for s in symptoms}
    for line in set(expected):
        assert occurrences[line] == expected.count(line)


def test_every_kb_number_in_the_seed_is_in_the_store(client) -> None:
    numbers = set(re.findall(r"\b(\d{6})\b", SEED_TEXT.read_text(encoding="utf-8")))
    article = client.get("/v1/articles/264630").get_json()
    related = {r["article_id"] for r in article["related"]}
    updates = {c["missing_update"] for c in article["causes"] if c["missing_update"]}
    assert numbers == {"264630", "251070", "249077", "252718", "252717"}
    assert numbers - {"264630"} == related == updates


def test_every_prose_paragraph_of_the_seed_is_kept(client) -> None:
    article = client.get("/v1/articles/264630").get_json()
    stored = "\n".join(s["body"] for s in article["sections"])
    text = SEED_TEXT.read_text(encoding="utf-8")
    body = text.split("SYMPTOMS", 1)[1].split("Modification Type", 1)[0]
    # Prose paragraphs are single long lines of sentences; log blocks are many short lines.
    paragraphs = [
        line.strip() for line in body.splitlines() if len(line.strip()) > 150 and ". " in line
    ]
    assert len(paragraphs) >= 8
    for paragraph in paragraphs:
        assert paragraph in stored


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_bad_file_is_named_with_its_record_and_field(tmp_path: Path) -> None:
    data = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
    data["symptoms"][2]["kind"] = "rumour"
    path = write(tmp_path / "264630.yaml", data)
    with pytest.raises(CuratedDataError) as caught:
        load_file(path)
    problems = "\n".join(caught.value.problems)
    assert str(path) in problems
    assert "symptoms[2] (id 264630-1-s03).kind: Must be one of" in problems


def test_a_link_to_an_unknown_record_is_named(tmp_path: Path) -> None:
    data = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
    data["workarounds"][0]["issue_ids"] = ["264630-9"]
    path = write(tmp_path / "264630.yaml", data)
    with pytest.raises(CuratedDataError) as caught:
        load_file(path)
    assert "workarounds[0] (id 264630-w1).issue_ids: unknown issue(s) 264630-9" in (
        "\n".join(caught.value.problems)
    )


def test_a_file_must_be_named_after_its_article(tmp_path: Path) -> None:
    data = yaml.safe_load((PROJECT_ROOT / "kb_data/264630.yaml").read_text())
    path = write(tmp_path / "111111.yaml", data)
    with pytest.raises(CuratedDataError, match="named"):
        load_file(path)


def test_unreadable_yaml_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "1.yaml").write_text("id: [unclosed")
    with pytest.raises(CuratedDataError, match="1.yaml: cannot read"):
        load_curated(tmp_path)

"""Loading the hand-curated articles in `kb_data/`, with errors that name file, record and field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from schemas.records import load_article_document


class CuratedDataError(ValueError):
    """A curated file is unreadable or invalid; `problems` lists each as file: record: field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _flatten(messages: Any, data: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Marshmallow's nested error dict as lines 'issues[1] (id 264630-2): title: message'."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            label = str(key)
            if isinstance(key, int):
                record = data[key] if isinstance(data, list) and key < len(data) else None
                record_id = record.get("id") if isinstance(record, dict) else None
                label = f"[{key}]" + (f" (id {record_id})" if record_id else "")
                child = record
            else:
                child = data.get(key) if isinstance(data, dict) else None
            yield from _flatten(value, child, (*path, label))
    elif isinstance(messages, list):
        where = "".join(p if p.startswith("[") else f".{p}" for p in path).lstrip(".")
        for message in messages:
            if isinstance(message, str):
                yield f"{where or '(article)'}: {message}"
            else:
                yield from _flatten(message, data, path)


def validation_problems(error: ValidationError, data: Any) -> list[str]:
    """Readable lines, one per field that failed, naming the record it belongs to."""
    return list(_flatten(error.messages, data))


def load_file(path: Path) -> dict[str, Any]:
    """Read and validate one curated file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CuratedDataError([f"{path}: cannot read: {exc}"]) from None
    try:
        document = load_article_document(raw)
    except ValidationError as exc:
        raise CuratedDataError([f"{path}: {p}" for p in validation_problems(exc, raw)]) from None
    expected = path.stem
    if document["id"] != expected:
        raise CuratedDataError(
            [
                f"{path}: id: is {document['id']!r} but the file is named "
                f"{path.name}; name the file after the KB number"
            ]
        )
    return document


def load_curated(directory: Path) -> list[dict[str, Any]]:
    """Every curated article, validated; all problems of all files are reported together."""
    documents, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            documents.append(load_file(path))
        except CuratedDataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise CuratedDataError(problems)
    return documents

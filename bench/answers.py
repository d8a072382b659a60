"""Record the service's answers to a fixed set of pastes, and compare a later run with them.

A refactoring must not change what users get. This script sends the same pastes (the raw-archive
queries of `bench/eval_queries.py` with a fixed seed, plus windows of the negative logs) to the
app through its public HTTP interface (Flask's test client, JSON and Markdown) and writes one line
per answer with only the volatile fields (request ids, timings) removed. `compare` sends them
again and lists every answer that differs.

    python bench/answers.py record --home DIR --out answers.jsonl [--queries 600]
    python bench/answers.py compare --home DIR --answers answers.jsonl

The store under --home is copied to a temporary directory first, so recording activity never
changes it between two runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_match import negative_pastes  # noqa: E402
from bench.eval_queries import build_queries, iter_archive, load_corpus  # noqa: E402
from bench.serving import SMS_ARCHIVE  # noqa: E402
from service import create_app  # noqa: E402
from service.config import Config  # noqa: E402

VOLATILE = {"request_id", "took_ms", "elapsed_ms", "generated_at"}
SEED = 20261125


def pastes(queries: int, archive: Path) -> list[tuple[str, str]]:
    """(key, paste) pairs: archive queries, then negative log windows."""
    corpus = load_corpus(iter_archive(archive))
    made = build_queries(corpus, queries, SEED)
    chosen = [(f"q{number}:{query.article_id}", query.paste) for number, query in enumerate(made)]
    chosen += [
        (f"neg{number}:{source}", paste)
        for number, (source, paste) in enumerate(negative_pastes(SEED))
    ]
    return chosen


def without_volatile(value: Any) -> Any:
    """The answer with request ids and timings taken out, at any depth."""
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    return value


def answers(home: Path, chosen: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each paste's JSON answer (limit 10) and, for every fifth, its Markdown rendering."""
    with tempfile.TemporaryDirectory(prefix="kb-answers-") as scratch:
        copy = Path(scratch) / "home"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("activity*", "*.log"))
        # No activity (it would feed the learning rules) and no time budget (a slow moment on a
        # shared machine would turn an answer into a 413): only the matcher's own answer counts.
        os.environ.update(
            KB_HOME=str(copy), KB_RATE_LIMIT="0", KB_RECORD_ACTIVITY="0", KB_MATCH_BUDGET_MS="0"
        )
        app = create_app(Config.from_env())
        client = app.test_client()
        out = []
        for number, (key, paste) in enumerate(chosen):
            reply = client.post("/v1/match", json={"log": paste, "limit": 10})
            record: dict[str, Any] = {
                "key": key,
                "status": reply.status_code,
                "json": without_volatile(reply.get_json()),
            }
            if number % 5 == 0:
                text = client.post(
                    "/v1/match", data=paste.encode(), headers={"Accept": "text/markdown"}
                ).get_data(as_text=True)
                record["markdown"] = "\n".join(
                    line for line in text.splitlines() if "request" not in line.lower()
                )
            out.append(record)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["record", "compare"])
    parser.add_argument("--home", required=True, help="a store built by `kb import`")
    parser.add_argument("--archive", default=str(SMS_ARCHIVE))
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--out", help="record: where to write the answers (JSON lines)")
    parser.add_argument("--answers", help="compare: answers written by `record`")
    args = parser.parse_args()
    if args.action == "record":
        chosen = pastes(args.queries, Path(args.archive))
        with open(args.out or "answers.jsonl", "w", encoding="utf-8") as handle:
            for record in answers(Path(args.home), chosen):
                handle.write(json.dumps(record, sort_keys=True) + "\n")
        print(f"{len(chosen)} answers recorded", file=sys.stderr)
        return 0
    recorded = [json.loads(line) for line in Path(args.answers).read_text("utf-8").splitlines()]
    chosen = pastes(args.queries, Path(args.archive))
    if [key for key, _ in chosen] != [r["key"] for r in recorded]:
        print("the pastes differ from the recorded ones (archive, seed or --queries)")
        return 2
    differ = [
        (old["key"], new)
        for old, new in zip(recorded, answers(Path(args.home), chosen), strict=True)
        if json.loads(json.dumps(new, sort_keys=True)) != old
    ]
    for key, _ in differ[:20]:
        print(f"differs: {key}")
    print(f"{len(recorded) - len(differ)} of {len(recorded)} answers identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())

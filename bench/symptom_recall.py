"""How many imported articles get symptoms: recall figures of the importer on an archive.

    .venv/bin/python -m bench.symptom_recall /work/shared/corpus/kbarchive-sms.tar.gz [--dump F]

Prints the share of articles with at least one symptom, how many articles titled "Err Msg" /
"Error Message" have none, the total of symptoms, the articles that fail to parse (by reason)
and the parse time per article. `--dump` writes one JSON line per article (id, title, symptom
texts and kinds) for spot checks and before/after comparisons.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import time
from collections import Counter
from typing import Any

from service.importer import ImportProblem, Source, iter_sources, parse_article

ERROR_TITLE = re.compile(r"\b(?:Err\s*Msgs?|Error\s+Messages?)\b", re.IGNORECASE)


def _measure(source: Source) -> dict[str, Any]:
    """Parse one source and time it; a failure is kept with its reason."""
    if source.text is None:
        return {"name": source.name, "problem": source.problem or "unreadable", "seconds": 0.0}
    started = time.perf_counter()
    try:
        doc = parse_article(source.text, source.name)
    except ImportProblem as exc:
        problem = str(exc)
        doc = None
    except Exception as exc:  # a parser bug is a figure here, not a stop
        problem = f"{type(exc).__name__}: {exc}"
        doc = None
    seconds = time.perf_counter() - started
    if doc is None:
        return {"name": source.name, "problem": problem, "seconds": seconds}
    return {
        "name": source.name,
        "id": doc["id"],
        "title": doc["title"],
        "symptoms": [[s["kind"], s["text"]] for s in doc["symptoms"]],
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    """Measure one archive and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive")
    parser.add_argument("--dump", help="write one JSON line per article here")
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args(argv)
    started = time.monotonic()
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        results = list(pool.imap(_measure, iter_sources([args.archive]), chunksize=16))
    wall = time.monotonic() - started
    parsed = [r for r in results if "id" in r]
    failed = [r for r in results if "id" not in r]
    with_symptoms = sum(1 for r in parsed if r["symptoms"])
    error_titled = [r for r in parsed if ERROR_TITLE.search(r["title"])]
    print(f"articles parsed:               {len(parsed)}")
    print(
        f"with >= 1 symptom:             {with_symptoms} "
        f"({100 * with_symptoms / max(1, len(parsed)):.1f}%)"
    )
    print(
        f"'Err Msg'/'Error Message' titled: {len(error_titled)}, with none: "
        f"{sum(1 for r in error_titled if not r['symptoms'])}"
    )
    print(f"total symptoms:                {sum(len(r['symptoms']) for r in parsed)}")
    kinds = Counter(kind for r in parsed for kind, _ in r["symptoms"])
    print(f"by kind:                       {dict(kinds)}")
    print(f"failed to parse:               {len(failed)}")
    reasons = Counter(re.sub(r"\d+", "N", r["problem"])[:120] for r in failed)
    for reason, count in reasons.most_common(10):
        print(f"  {count:6d}  {reason}")
    total = sum(r["seconds"] for r in results)
    print(
        f"parse time per article:        {1000 * total / max(1, len(results)):.2f} ms "
        f"(max {1000 * max((r['seconds'] for r in results), default=0):.0f} ms); "
        f"wall {wall:.1f} s on {args.processes} processes"
    )
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for r in results:
                out.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()

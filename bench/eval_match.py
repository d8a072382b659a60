"""Evaluate matching as a user meets it: raw-archive queries against a real `kb serve`.

Queries come from `bench/eval_queries.py`, which reads the raw archive text with rules of its own
(nothing from the importer, the normaliser or the index), so a score here cannot be the service
agreeing with itself. The store is built with the `kb` CLI, served by gunicorn (`kb serve`, two
workers) and asked over HTTP; the client-side latency is what is reported.

Articles are split in two halves by a stable hash of their id: the "tuning" half may be looked at
while improving the matcher, the "reporting" half is the one to quote. Both are reported.
Beside the matcher, the same queries go to a naive baseline (the whole paste as one BM25 OR-query
over article text, FTS5), and logs of other systems measure confident false alarms.

    python bench/eval_match.py [--archive PATH | --both] [--home DIR] [--queries N]
        [--json] [--show-misses] [--dump-queries FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_queries import KINDS, Query, build_queries, iter_archive, load_corpus  # noqa: E402
from bench.serving import ALL_ARCHIVE, SMS_ARCHIVE, free_port, start, stop, wait_ready  # noqa: E402
from service.matching import CONFIDENT  # noqa: E402  (from which the API calls a match sure)
from service.search import WORD  # noqa: E402
from service.storage import Store  # noqa: E402

NEGATIVES = ROOT / "bench" / "negatives"
KB = Path(sys.executable).parent / "kb"
IMPORTED_AT_LEAST = 100  # fewer articles: only the curated seed is there, import the archive
COMPLETE_SHARE = 0.98  # of the archive's articles in the store: the import finished
DEFAULT_QUERIES = {"sms": 600, "all": 1000}
HALVES = ("reporting", "tuning")


@dataclass
class Outcome:
    """What the service and the baseline answered to one query."""

    query: Query
    ranked: list[str]
    confidences: list[float]
    latency_ms: float
    baseline: list[str]

    def rank(self, ranked: list[str] | None = None) -> int | None:
        """Position (1-based) of the first right article in `ranked` (default: the service's)."""
        for position, article_id in enumerate(self.ranked if ranked is None else ranked, 1):
            if article_id in self.query.correct:
                return position
        return None


# ---------------------------------------------------------------------------------------------
# The store and the server


def prepare_store(home: Path, archive: Path, archive_articles: int) -> int:
    """Build and import with the `kb` CLI, as an operator would; skip when already imported.

    A store with fewer articles than the archive holds (less a few the importer may refuse) is
    an interrupted import: importing again completes it, so a partial store is never scored.
    """
    store_path = home / "kb.sqlite3"
    have = count_articles(store_path) if store_path.exists() else 0
    if have >= max(IMPORTED_AT_LEAST, int(archive_articles * COMPLETE_SHARE)):
        return have
    if have >= IMPORTED_AT_LEAST:
        print(f"{home}: {have} of {archive_articles} articles, importing the rest", file=sys.stderr)
    env = dict(os.environ, KB_HOME=str(home))
    started = time.monotonic()
    subprocess.run([str(KB), "build"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(KB), "import", str(archive)], env=env, check=True, stdout=sys.stderr)
    print(f"imported {archive.name} in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return count_articles(store_path)


def count_articles(store_path: Path) -> int:
    """Articles in the store file."""
    store = Store(store_path)
    try:
        return store.count("articles")
    finally:
        store.close()


def serve(home: Path, log_path: Path) -> tuple[subprocess.Popen, int]:
    """`kb serve` with two workers on a free port, ready to answer."""
    port = free_port()
    # Activity recording is off so that evaluation pastes do not end up in the store's stats.
    # No time budget either: how good the answers are must not depend on how busy the machine is.
    env = dict(
        os.environ,
        KB_HOME=str(home),
        KB_RECORD_ACTIVITY="0",
        KB_RATE_LIMIT="0",
        KB_MATCH_BUDGET_MS="0",
    )
    log = log_path.open("ab")
    process = start(
        [str(KB), "serve", "--port", str(port), "--workers", "2"],
        env,
        log,  # type: ignore[arg-type]
    )
    wait_ready(port, "/readyz", timeout=600, process=process)
    return process, port


def ask(port: int, query: Query) -> tuple[list[str], list[float], float]:
    """Send one query; returns ranked article ids, their confidences and the latency in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    if query.as_line:
        conn.request("GET", "/v1/match?" + urlencode({"line": query.paste, "limit": 10}))
    else:
        conn.request(
            "POST",
            "/v1/match?limit=10",
            body=query.paste.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
    response = conn.getresponse()
    body = response.read()
    latency = (time.perf_counter() - started) * 1000
    conn.close()
    if response.status != 200:
        raise SystemExit(f"/v1/match answered {response.status}: {body[:300]!r}")
    ranked: list[str] = []
    confidences: list[float] = []
    for match in json.loads(body)["matches"]:
        # Several issues of one article count as that article once, at its best position.
        if match["article_id"] not in ranked:
            ranked.append(match["article_id"])
            confidences.append(float(match.get("confidence") or 0))
    return ranked, confidences, latency


def baseline_rank(store: Store, paste: str) -> list[str]:
    """The naive approach: the whole paste as one BM25 OR-query over article text (FTS5)."""
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(paste)))
    return [hit["article_id"] for hit in store.search_articles(words, limit=10)]


# ---------------------------------------------------------------------------------------------
# Negatives


def negative_pastes(seed: int, per_source: int = 3) -> list[tuple[str, str]]:
    """(source, paste) pairs: windows of 5-50 lines from each log under bench/negatives/."""
    rng = random.Random(seed)
    pastes = []
    for path in sorted(NEGATIVES.glob("*.log")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for _ in range(per_source):
            size = rng.randint(5, min(50, len(lines)))
            begin = rng.randint(0, len(lines) - size)
            pastes.append((path.stem, "\n".join(lines[begin : begin + size])))
    return pastes


# ---------------------------------------------------------------------------------------------
# Scores


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def scores(outcomes: list[Outcome]) -> dict[str, Any]:
    """Top-1, top-3, MRR, misses, silences and confidence of the service, and the baseline's."""
    n = len(outcomes)
    if not n:
        return {"n": 0}
    ranks = [o.rank() for o in outcomes]
    base = [o.rank(o.baseline) for o in outcomes]

    def share(count: int) -> float:
        return round(count / n, 3)

    return {
        "n": n,
        "top1": share(sum(r == 1 for r in ranks)),
        "top3": share(sum(r is not None and r <= 3 for r in ranks)),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
        "not_in_top10": share(sum(r is None for r in ranks)),
        "no_answer": share(sum(not o.ranked for o in outcomes)),
        "confident": share(
            sum(bool(o.confidences) and o.confidences[0] >= CONFIDENT for o in outcomes)
        ),
        "baseline_top1": share(sum(r == 1 for r in base)),
        "baseline_top3": share(sum(r is not None and r <= 3 for r in base)),
        "baseline_mrr": round(sum(1 / r for r in base if r) / n, 3),
        "p50_ms": percentile([o.latency_ms for o in outcomes], 0.5),
        "p95_ms": percentile([o.latency_ms for o in outcomes], 0.95),
    }


def report_of(outcomes: list[Outcome]) -> dict[str, Any]:
    """Scores per half, and per kind inside each half."""
    grouped: dict[str, dict[str, list[Outcome]]] = defaultdict(lambda: defaultdict(list))
    for outcome in outcomes:
        grouped[outcome.query.half][outcome.query.kind].append(outcome)
        grouped[outcome.query.half]["all"].append(outcome)
    return {
        half: {kind: scores(grouped[half][kind]) for kind in (*KINDS, "all")} for half in HALVES
    }


COLUMNS = (
    ("n", "n"),
    ("top1", "top-1"),
    ("top3", "top-3"),
    ("mrr", "MRR"),
    ("not_in_top10", "not in top 10"),
    ("no_answer", "no answer"),
    ("confident", "conf >= 0.5"),
    ("baseline_top1", "BM25 top-1"),
    ("baseline_top3", "BM25 top-3"),
    ("baseline_mrr", "BM25 MRR"),
    ("p50_ms", "p50 ms"),
    ("p95_ms", "p95 ms"),
)


def markdown(result: dict[str, Any]) -> str:
    """The report as Markdown tables, ready for the README."""
    out = [
        f"### {result['archive']}: {result['articles']:,} articles, {result['queries']} queries"
        f" (seed {result['seed']})",
        "",
    ]
    for half in HALVES:
        label = "reporting half (quote this one)" if half == "reporting" else "tuning half"
        out += [f"**{label}**", ""]
        out.append("| kind | " + " | ".join(title for _, title in COLUMNS) + " |")
        out.append("|---" * (len(COLUMNS) + 1) + "|")
        for kind, row in result["halves"][half].items():
            cells = [str(row.get(key, "")) for key, _ in COLUMNS]
            name = f"**{kind}**" if kind == "all" else kind
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out.append("")
    negatives = result["negatives"]
    out += [
        f"**negatives**: {negatives['pastes']} pastes of other systems' logs and clean logs;"
        f" confidently matched (any match with confidence >= {CONFIDENT}):"
        f" {negatives['confident']} ({negatives['confident_share']:.1%});"
        f" any match at all: {negatives['answered']}",
        "",
        "| source | pastes | confidently matched |",
        "|---|---|---|",
    ]
    for source, row in negatives["by_source"].items():
        out.append(f"| {source} | {row['pastes']} | {row['confident']} |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# One archive


def evaluate(archive: Path, home: Path, args: argparse.Namespace, short: str) -> dict[str, Any]:
    """Build or reuse the store, serve it, send the queries and negatives; the report."""
    started = time.monotonic()
    corpus = load_corpus(iter_archive(archive))
    count = args.queries or DEFAULT_QUERIES[short]
    queries = build_queries(corpus, count, args.seed)
    archive_articles = len(corpus.texts)
    del corpus  # 60k articles of text: not needed while the server runs
    print(
        f"{archive.name}: {len(queries)} queries in {time.monotonic() - started:.0f}s",
        file=sys.stderr,
    )
    if args.dump_queries:
        target = Path(args.dump_queries)
        if args.both:
            target = target.with_name(f"{target.stem}_{short}{target.suffix}")
        with target.open("w", encoding="utf-8") as handle:
            for query in queries:
                handle.write(json.dumps(query.as_json()) + "\n")
        print(f"queries written to {target}", file=sys.stderr)
    articles = prepare_store(home, archive, archive_articles)
    store = Store(home / "kb.sqlite3")
    process, port = serve(home, home / "eval-serve.log")
    try:
        outcomes = []
        for number, query in enumerate(queries, 1):
            ranked, confidences, latency = ask(port, query)
            outcomes.append(
                Outcome(query, ranked, confidences, latency, baseline_rank(store, query.paste))
            )
            if number % 200 == 0:
                print(f"  {number}/{len(queries)} queries", file=sys.stderr)
        by_source: dict[str, Counter[str]] = defaultdict(Counter)
        confident_negatives = []
        for source, paste in negative_pastes(args.seed):
            ranked, confidences, _ = ask(port, Query("negative", "", "", paste, []))
            by_source[source]["pastes"] += 1
            by_source[source]["answered"] += bool(ranked)
            if any(c >= CONFIDENT for c in confidences):
                by_source[source]["confident"] += 1
                confident_negatives.append({"source": source, "got": ranked[:3], "paste": paste})
    finally:
        stop(process)
        store.close()
    pastes = sum(c["pastes"] for c in by_source.values())
    confident = sum(c["confident"] for c in by_source.values())
    result = {
        "archive": archive.name,
        "articles": articles,
        "queries": len(queries),
        "seed": args.seed,
        "halves": report_of(outcomes),
        "negatives": {
            "pastes": pastes,
            "confident": confident,
            "confident_share": round(confident / max(1, pastes), 3),
            "answered": sum(c["answered"] for c in by_source.values()),
            "by_source": {
                source: {"pastes": c["pastes"], "confident": c["confident"]}
                for source, c in sorted(by_source.items())
            },
        },
    }
    if args.show_misses:
        show_misses(outcomes, confident_negatives)
    return result


def show_misses(outcomes: list[Outcome], confident_negatives: list[dict[str, Any]]) -> None:
    """Up to 20 tuning-half misses, spread over the kinds, and confident negatives.

    Only the tuning half is shown: the reporting half's misses are never looked at, so its
    figures stay an honest estimate of pastes nobody tuned on.
    """
    misses = [o for o in outcomes if o.query.half == "tuning" and o.rank() != 1]
    rng = random.Random(0)
    rng.shuffle(misses)
    misses.sort(key=lambda o: KINDS.index(o.query.kind))
    shown = [m for kind in KINDS for m in [o for o in misses if o.query.kind == kind][:8]][:40]
    print(f"\n{len(misses)} tuning-half misses (rank != 1); some of them:", file=sys.stderr)
    for outcome in shown:
        entry = {
            "kind": outcome.query.kind,
            "article": outcome.query.article_id,
            "correct": outcome.query.correct[:5],
            "rank": outcome.rank(),
            "got": list(zip(outcome.ranked[:3], outcome.confidences[:3], strict=True)),
            "messages": outcome.query.messages,
            "paste": outcome.query.paste[:400],
        }
        print(json.dumps(entry), file=sys.stderr)
    if confident_negatives:
        print(f"\n{len(confident_negatives)} negatives matched confidently:", file=sys.stderr)
        for entry in confident_negatives[:10]:
            print(json.dumps({**entry, "paste": entry["paste"][:300]}), file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", default=str(SMS_ARCHIVE), help="default: the SMS archive")
    parser.add_argument("--both", action="store_true", help="the SMS archive, then all 60k")
    parser.add_argument(
        "--home", help="KB_HOME to build or reuse (with --both: HOME-sms and HOME-all)"
    )
    parser.add_argument(
        "--queries", type=int, help="queries per archive (default 600 SMS, 1000 all)"
    )
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--show-misses", action="store_true", help="tuning-half misses to stderr")
    parser.add_argument(
        "--dump-queries", metavar="FILE", help="write the queries as JSONL (with --both: FILE_sms)"
    )
    args = parser.parse_args()
    runs = [(SMS_ARCHIVE, "sms"), (ALL_ARCHIVE, "all")] if args.both else [(Path(args.archive), "")]
    results = []
    for archive, short in runs:
        if not archive.exists():
            print(f"archive not found: {archive} (see README)", file=sys.stderr)
            return 2
        short = short or ("all" if "all" in archive.name else "sms")
        if args.home:
            home = Path(f"{args.home}-{short}") if args.both else Path(args.home)
        else:
            home = Path(tempfile.mkdtemp(prefix=f"kb-eval-{short}-"))
        home.mkdir(parents=True, exist_ok=True)
        result = evaluate(archive, home, args, short)
        results.append(result)
        if not args.json:
            print(markdown(result), flush=True)
    if args.json:
        print(json.dumps(results if args.both else results[0], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

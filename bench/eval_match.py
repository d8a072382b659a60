"""Evaluate matching on a real archive: do generated pastes find the article they came from?

Builds a knowledge base from the archive (or reuses one), turns each article's own quoted log
lines into pastes as a helpdesk would send them (instance data changed, real log formatting,
noise lines around), and reports top-1, top-3 and MRR, beside a naive baseline in the same run:
the whole paste as one BM25 OR-query over article text. Unrelated logs measure false alarms.

    python bench/eval_match.py [--archive ../shared/corpus/kbarchive-sms.tar.gz] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.config import Config  # noqa: E402
from service.importer import run_import  # noqa: E402
from service.kb import KnowledgeBase  # noqa: E402
from service.matching import match_log  # noqa: E402
from service.normalize import normalize, parse_line  # noqa: E402
from service.search import WORD  # noqa: E402

DEFAULT_ARCHIVE = ROOT.parent / "shared" / "corpus" / "kbarchive-sms.tar.gz"
NOISE = [
    "Sleeping for 60 seconds...",
    "Waiting for the next cycle",
    "Checking for new instructions",
    "Service started successfully",
    "Completed processing of 3 files",
    "Heartbeat sent to the site server",
    "Connection established",
    "Reading configuration from registry",
    "Thread exited normally",
    "Found 0 pending jobs",
]
UNRELATED = [
    "{mon} {day} {hh}:{mm}:{ss} web{n} sshd[{pid}]: Accepted publickey for {user} from 10.{a}.{b}.{c} port {port} ssh2",
    "{mon} {day} {hh}:{mm}:{ss} web{n} systemd[1]: Started Session {pid} of user {user}.",
    "{mon} {day} {hh}:{mm}:{ss} web{n} kernel: [{pid}.{port}] Out of memory: Killed process {pid} (java)",
    "{mon} {day} {hh}:{mm}:{ss} db{n} postgres[{pid}]: LOG:  checkpoint complete: wrote {port} buffers",
    '10.{a}.{b}.{c} - - [{day}/{mon}/2026:{hh}:{mm}:{ss} +0000] "GET /api/v2/items?page={n} HTTP/1.1" 200 {port} "-" "Mozilla/5.0"',
    '10.{a}.{b}.{c} - {user} [{day}/{mon}/2026:{hh}:{mm}:{ss} +0000] "POST /login HTTP/1.1" 302 0 "-" "curl/8.1"',
    "2026-11-{day} {hh}:{mm}:{ss},123 INFO  [main] o.s.b.w.e.tomcat.TomcatWebServer: Tomcat started on port(s): 8080",
    "2026-11-{day} {hh}:{mm}:{ss},456 ERROR [pool-{n}-thread-{n}] c.e.app.OrderService: Order {pid} failed: timeout after 30000 ms",
    "{hh}:{mm}:{ss}.{port} [nginx] upstream timed out (110: Connection timed out) while reading response header",
    "npm ERR! code ERESOLVE unable to resolve dependency tree for react@{n}.0.0",
    'Traceback (most recent call last): File "/srv/app/main.py", line {n}, in <module>',
    'docker: Error response from daemon: Conflict. The container name "/web{n}" is already in use.',
]


def disguise(line: str, rng: random.Random) -> str:
    """Change what differs between machines: paths, site codes, servers, numbers, versions."""
    line = re.sub(r"\b[A-Z]:\\", lambda m: rng.choice(["C:\\", "D:\\", "E:\\"]), line)
    line = re.sub(r"\\\\[A-Za-z0-9_-]+\\", lambda m: f"\\\\SRV{rng.randint(1, 99):02d}\\", line)
    line = re.sub(
        r"\b(site|Site|SITE)( code)? [A-Z0-9]{3}\b",
        lambda m: f"{m.group(1)}{m.group(2) or ''} {rng.choice(['A01', 'NYC', 'LN2'])}",
        line,
    )
    line = re.sub(
        r"\b(\d+)\.(\d+)\.(\d+)(\.\d+)?\b",
        lambda m: ".".join(str(rng.randint(0, 2999)) for _ in range(4 if m.group(4) else 3)),
        line,
    )
    line = re.sub(r"\bthread=\w+", f"thread={rng.randint(100, 9999)}", line)
    return line


def formatted(message: str, component: str, rng: random.Random) -> str:
    style = rng.choice(["sms2", "cmtrace", "plain", "timestamped"])
    if style == "sms2":
        return (
            f"{message}  $$<{component}><Thu Jul {rng.randint(1, 28)} 14:22:53.{rng.randint(100, 999)}"
            f" 2001 Pacific Standard Time><thread={rng.randint(100, 4000)} (0x{rng.randint(256, 4095):X})>"
        )
    if style == "cmtrace":
        return (
            f'<![LOG[{message}]LOG]!><time="14:22:53.512+480" date="07-26-2001" '
            f'component="{component}" context="" type="1" thread="{rng.randint(100, 9999)}" file="x.cpp:1">'
        )
    if style == "timestamped":
        return f"2001-07-{rng.randint(10, 28)} 14:{rng.randint(10, 59)}:{rng.randint(10, 59)} {message}"
    return message


def build_queries(kb: KnowledgeBase, rng: random.Random, limit: int | None):
    """One paste per article that quotes log lines, and the set of equally right answers."""
    by_article: dict[str, list[str]] = defaultdict(list)
    signature_articles: dict[str, set[str]] = defaultdict(set)
    for row in kb.store.conn.execute(
        "SELECT article_id, text FROM symptoms WHERE kind IN ('log_line', 'error_message')"
    ):
        message, _, _ = parse_line(row["text"])
        normal = normalize(message)
        if len(normal.terms) < 2:
            continue
        by_article[row["article_id"]].append(row["text"])
        signature_articles[normal.signature].add(row["article_id"])
    queries = []
    for article_id in sorted(by_article):
        lines = by_article[article_id]
        chosen = rng.sample(lines, min(len(lines), rng.randint(1, 3)))
        correct = {article_id}
        for text in chosen:
            correct |= signature_articles[normalize(parse_line(text)[0]).signature]
        body = []
        for text in chosen:
            message, component, _ = parse_line(text)
            body.append(formatted(disguise(message, rng), component or "SMS_COMPONENT", rng))
        for _ in range(rng.randint(1, 4)):
            body.insert(
                rng.randint(0, len(body)), formatted(rng.choice(NOISE), "SMS_EXECUTIVE", rng)
            )
        queries.append((article_id, "\n".join(body), correct))
    rng.shuffle(queries)
    return queries[:limit] if limit else queries


def unrelated_pastes(rng: random.Random, count: int) -> list[str]:
    pastes = []
    for _ in range(count):
        lines = []
        for _ in range(rng.randint(3, 12)):
            lines.append(
                rng.choice(UNRELATED).format(
                    mon=rng.choice(["Jan", "Feb", "Nov"]),
                    day=rng.randint(10, 28),
                    hh=rng.randint(10, 23),
                    mm=rng.randint(10, 59),
                    ss=rng.randint(10, 59),
                    n=rng.randint(1, 9),
                    pid=rng.randint(1000, 99999),
                    user=rng.choice(["root", "alice", "deploy"]),
                    a=rng.randint(0, 255),
                    b=rng.randint(0, 255),
                    c=rng.randint(0, 255),
                    port=rng.randint(1024, 65000),
                )
            )
        pastes.append("\n".join(lines))
    return pastes


def baseline_rank(kb: KnowledgeBase, paste: str) -> list[str]:
    """The naive approach: the whole paste as one BM25 OR-query over article text (FTS5)."""
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(paste)))
    return [hit["article_id"] for hit in kb.store.search_articles(words, limit=10)]


def scores(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "top1": round(sum(1 for r in ranks if r == 1) / n, 3),
        "top3": round(sum(1 for r in ranks if r is not None and r <= 3) / n, 3),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
    }


def first_rank(ranked: list[str], correct: set[str]) -> int | None:
    for position, article_id in enumerate(ranked, start=1):
        if article_id in correct:
            return position
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", default=str(DEFAULT_ARCHIVE))
    parser.add_argument("--home", help="reuse or create the knowledge base here")
    parser.add_argument("--queries", type=int, default=None, help="at most this many queries")
    parser.add_argument("--unrelated", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-baseline", action="store_true", help="skip the BM25 baseline")
    args = parser.parse_args()
    archive = Path(args.archive)
    if not archive.exists():
        print(
            f"archive not found: {archive} (eval expects the KB archive there; see README)",
            file=sys.stderr,
        )
        return 2
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="kb-eval-"))
    kb = KnowledgeBase(Config(kb_home=home))
    if not kb.is_built():
        kb.build()
    if kb.store.count("articles") < 100:
        started = time.monotonic()
        summary = run_import(kb, [archive])
        print(
            f"imported {archive.name}: {summary.counts} in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
    rng = random.Random(args.seed)
    queries = build_queries(kb, rng, args.queries)
    ours, base, latencies = [], [], []
    misses = []
    for article_id, paste, correct in queries:
        started = time.perf_counter()
        result = match_log(kb, paste, limit=10)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = list(dict.fromkeys(m["article_id"] for m in result["matches"]))
        rank = first_rank(ranked, correct)
        ours.append(rank)
        if rank != 1 and len(misses) < 15:
            misses.append({"article": article_id, "got": ranked[:3], "paste": paste[:300]})
        if not args.no_baseline:
            base.append(first_rank(baseline_rank(kb, paste), correct))
    confident = 0
    for paste in unrelated_pastes(rng, args.unrelated):
        result = match_log(kb, paste, limit=3)
        if any(m["confidence"] >= 0.5 for m in result["matches"]):
            confident += 1
    report = {
        "archive": archive.name,
        "articles": kb.store.count("articles"),
        "queries": len(queries),
        "matcher": scores(ours),
        "baseline_bm25_whole_paste": scores(base) if base else None,
        "unrelated_pastes": args.unrelated,
        "unrelated_confident_share": round(confident / max(1, args.unrelated), 3),
        "match_ms_p50": round(statistics.median(latencies), 2),
        "match_ms_p95": round(statistics.quantiles(latencies, n=20)[-1], 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
        print("\nsome misses:", file=sys.stderr)
        for miss in misses:
            print(json.dumps(miss)[:400], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Import benchmark: a whole archive into a fresh knowledge base, then match against it.

Reports wall time, articles/s, peak RSS (this process and its children), store and index size
on disk, the time to open the knowledge base and answer a first match, and /v1/match latency
(in process, median of repeated runs) for 1-, 20- and 200-line pastes against the full store.

    python bench/bench_import.py [--archive ../shared/corpus/kbarchive-all.tar.gz] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pastes import make_paste  # noqa: E402
from service.config import Config  # noqa: E402
from service.importer import run_import  # noqa: E402
from service.kb import KnowledgeBase  # noqa: E402
from service.matching import match_log  # noqa: E402

DEFAULT_ARCHIVE = ROOT.parent / "shared" / "corpus" / "kbarchive-all.tar.gz"


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "largest_child": round(children, 1)}


def first_answer_seconds(home: Path) -> float:
    """A new process opens the built knowledge base and answers one match."""
    code = (
        f"import sys,time; t=time.monotonic(); sys.path.insert(0, {str(ROOT)!r});"
        "from service import create_app; from service.config import Config; import pathlib;"
        f"app=create_app(Config(kb_home=pathlib.Path({str(home)!r})));"
        "r=app.test_client().get('/v1/match?line=Trying+to+open+IPC+connection+with+APM');"
        "assert r.status_code==200; print(time.monotonic()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", default=str(DEFAULT_ARCHIVE))
    parser.add_argument("--home", help="where to build (default: a new temporary directory)")
    parser.add_argument("--runs", type=int, default=15, help="match runs per paste size")
    args = parser.parse_args()
    archive = Path(args.archive)
    if not archive.exists():
        print(
            f"archive not found: {archive} (the benchmark expects the KB archive there)",
            file=sys.stderr,
        )
        return 2
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="kb-bench-import-"))
    kb = KnowledgeBase(Config(kb_home=home))
    kb.build()
    started = time.monotonic()
    summary = run_import(kb, [archive])
    wall = time.monotonic() - started
    report = {
        "archive": archive.name,
        "outcomes": summary.counts,
        "wall_seconds": round(wall, 1),
        "articles_per_second": round(summary.total / wall, 1),
        "peak_rss_mb": peak_rss_mb(),
        "store_mb": round(size_of(kb.config.store_path) / 2**20, 1),
        "index_mb": round(size_of(kb.config.index_path) / 2**20, 1),
        "symptoms": kb.store.count("symptoms"),
    }
    kb.close()
    report["first_answer_seconds_new_process"] = round(first_answer_seconds(home), 3)
    kb = KnowledgeBase(Config(kb_home=home))
    rng = random.Random(7)
    latency = {}
    for lines in (1, 20, 200):
        timings = []
        for _ in range(args.runs):
            paste = make_paste(kb, lines, rng)
            t = time.perf_counter()
            match_log(kb, paste, limit=5)
            timings.append((time.perf_counter() - t) * 1000)
        latency[f"{lines}_lines_ms_p50"] = round(statistics.median(timings), 1)
    report["match_latency_in_process"] = latency
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

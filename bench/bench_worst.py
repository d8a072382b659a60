"""Worst-case pastes up to the limits, under gunicorn: how long each holds a worker, and whether
the server keeps answering while two of them run at once.

Each paste is built to cost as much as the limits allow (2 MiB, 20,000 lines, 10,000 characters
a line by default): long runs that made patterns backtrack (spaces before an SMS trailer, letters
after a CMTrace record, separators, brackets, quotes), lines of thousands of quotes or sentences,
long unknown words in a short paste, and the most lines of distinct words, prose, SMS records or
paths that fit. Each is sent --repeat times in turn; the table gives the status and the longest
time the client waited. Then two clients send them back to back for --seconds while a third asks
GET /healthz every 50 ms, and the latency of /healthz is reported.

The store is only read (no activity is recorded), so a store built for other benchmarks can be
used as it is:

    python bench/bench_worst.py --home /tmp/kb-bench-all [--workers 3] [--repeat 3] [--seconds 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import string
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serving import (  # noqa: E402
    ALL_ARCHIVE,
    free_port,
    prepare_home,
    start,
    stop,
    wait_ready,
)
from service.config import Config  # noqa: E402
from service.storage import peek_store  # noqa: E402

TMP = Path(tempfile.gettempdir())
SMS_TRAILER = (
    "  $$<SMS_EXECUTIVE><Thu Jul 26 14:22:53.512 2001 Pacific Standard Time><thread=1600 (0x640)>"
)
# What the server is judged by: no paste holds a worker longer, and /healthz answers within it.
TARGET_SECONDS = 1.0


def fill(line_of: Callable[[int], str], limits: Config, room: int = 0) -> str:
    """As many lines made by `line_of(n)` as fit in the body and line limits, less `room`."""
    lines: list[str] = []
    size = 0
    while len(lines) < limits.max_paste_lines - room:
        line = line_of(len(lines))
        size += len(line.encode()) + 1
        if size > limits.max_body_bytes - 1024:
            break
        lines.append(line)
    return "\n".join(lines)


def worst_cases(limits: Config, seed: int) -> dict[str, tuple[str, str]]:
    """Name -> (paste, content type), every paste within the limits."""
    rng = random.Random(seed)
    chars = limits.max_line_chars

    def words(count: int) -> str:
        return " ".join(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
            for _ in range(count)
        )

    text = "text/plain; charset=utf-8"
    cases: dict[str, Callable[[], str]] = {
        "spaces before a broken SMS trailer": lambda: fill(
            lambda n: f"e{n}" + " " * (chars - 40) + "$$<CCIM32><t><thread=1", limits
        ),
        "one 400 KB line: spaces, SMS trailer": lambda: (
            "Trying to open" + " " * 400_000 + "$$<CCIM32><Thu Jul 26><thread=1600"
        ),
        "letters after ]LOG]!>": lambda: fill(
            lambda n: f"<![LOG[record {n}]LOG]!>" + "a" * (chars - 30), limits
        ),
        "one 400 KB CMTrace line of letters": lambda: (
            "<![LOG[Trying to open]LOG]!>" + "a" * 400_000
        ),
        "word characters": lambda: fill(
            lambda n: f"{n} " + "abcdefghij" * (chars // 10 - 1), limits
        ),
        "separators (a.a.a...\\)": lambda: fill(
            lambda n: f"{n} " + "a." * (chars // 2 - 8) + " \\", limits
        ),
        "nested brackets": lambda: fill(
            lambda n: f"{n}" + "[(" * (chars // 4 - 2) + ")]" * (chars // 4 - 2), limits
        ),
        "$$< repeats": lambda: fill(lambda n: f"{n}" + "$$<" * (chars // 3 - 2), limits),
        "<![LOG[ repeats": lambda: fill(lambda n: f"{n}" + "<![LOG[" * (chars // 7 - 1), limits),
        "]LOG]!> repeats": lambda: fill(lambda n: f"{n}" + "]LOG]!>" * (chars // 7 - 1), limits),
        "a banner of spaces": lambda: fill(lambda n: f"-- {n}" + " " * (chars - 10) + "x", limits),
        "double quotes": lambda: fill(lambda n: f"{n}" + '"' * (chars - 8), limits),
        "thousands of quoted messages a line": lambda: fill(
            lambda n: f"{n} " + "".join(f'"w{n}x{k} ab" ' for k in range(chars // 14)), limits
        ),
        "thousands of sentences a line": lambda: fill(
            lambda n: f"{n}. " + "".join(f"A{k}. " for k in range(chars // 6)), limits
        ),
        "long unknown words, 20 lines": lambda: "\n".join(
            f"Trying open connection {n} " + "qwertyuiop" * (chars // 10 - 4) for n in range(20)
        ),
        "an unclosed CMTrace record": lambda: (
            "<![LOG[start\n" + fill(lambda n: f"line {n} of a record", limits, room=1)
        ),
        "most lines of random words": lambda: fill(lambda n: words(12), limits),
        "most lines of prose": lambda: fill(
            lambda n: "the client cannot " + words(10) + " after the update", limits
        ),
        "most lines in SMS format": lambda: fill(
            lambda n: words(6) + f" {n}" + SMS_TRAILER, limits
        ),
        "most lines of paths and addresses": lambda: fill(
            lambda n: (
                f"Failed {n} C:\\a\\b{n}\\c.exe \\\\srv{n}\\share\\x 10.0.{n % 255}.1 "
                f"user@x{n}.com site AB{n % 10} server S{n} 0x8007{n % 9999:04x}"
            ),
            limits,
        ),
    }
    out = {name: (make(), text) for name, make in cases.items()}
    out["1 MB declared as punycode"] = ("Trying to open " * 70_000, "text/plain; charset=punycode")
    return out


def post(port: int, body: bytes, content_type: str, timeout: float = 120) -> tuple[int, float]:
    """POST /v1/match; (status, seconds the client waited for the whole answer)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/v1/match", body=body, headers={"Content-Type": content_type})
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def sequential(port: int, cases: dict[str, tuple[str, str]], repeat: int) -> list[dict[str, Any]]:
    """Each paste `repeat` times in turn: its statuses and the longest wait."""
    rows = []
    for name, (paste, content_type) in cases.items():
        body = paste.encode()
        results = [post(port, body, content_type) for _ in range(repeat)]
        rows.append(
            {
                "paste": name,
                "kib": round(len(body) / 1024),
                "lines": paste.count("\n") + 1,
                "statuses": sorted({status for status, _ in results}),
                "max_seconds": round(max(seconds for _, seconds in results), 3),
            }
        )
        print(f"  {name}: {rows[-1]}", file=sys.stderr)
    return rows


def concurrent(port: int, cases: dict[str, tuple[str, str]], seconds: float) -> dict[str, Any]:
    """Two clients sending the pastes back to back while a third polls /healthz."""
    stop_at = time.monotonic() + seconds
    pastes = [(paste.encode(), content_type) for paste, content_type in cases.values()]
    answered: list[tuple[int, float]] = []
    health: list[float] = []
    failures: list[str] = []

    def send(offset: int) -> None:
        n = offset
        while time.monotonic() < stop_at:
            body, content_type = pastes[n % len(pastes)]
            try:
                answered.append(post(port, body, content_type))
            except OSError as exc:
                failures.append(repr(exc))
            n += 2

    def poll() -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                conn.close()
                health.append(time.perf_counter() - started)
            except OSError as exc:
                failures.append(f"healthz: {exc!r}")
            time.sleep(0.05)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    threads.append(threading.Thread(target=poll))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    health.sort()
    return {
        "seconds": seconds,
        "pastes_answered": len(answered),
        "paste_statuses": {str(s): sum(1 for a, _ in answered if a == s) for s, _ in answered},
        "paste_max_seconds": round(max((t for _, t in answered), default=0.0), 3),
        "healthz_requests": len(health),
        "healthz_p50_ms": round(1000 * statistics.median(health), 1) if health else None,
        "healthz_p99_ms": round(1000 * health[int(0.99 * (len(health) - 1))], 1)
        if health
        else None,
        "healthz_max_ms": round(1000 * health[-1], 1) if health else None,
        "failures": failures[:10],
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Worst-case pastes on {report['home']} ({report['articles']} articles), "
        f"{report['workers']} gunicorn workers, KB_MATCH_BUDGET_MS={report['budget_ms']}, "
        f"{report['cpus']} CPUs, load average {report['load']}",
        "",
        "| paste | KiB | lines | status | longest wait (s) | within 1 s |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["sequential"]:
        status = "/".join(str(s) for s in row["statuses"])
        within = "yes" if row["max_seconds"] <= TARGET_SECONDS else "NO"
        lines.append(
            f"| {row['paste']} | {row['kib']} | {row['lines']} | {status} | "
            f"{row['max_seconds']:.3f} | {within} |"
        )
    c = report["concurrent"]
    lines += [
        "",
        f"Two clients sending these back to back for {c['seconds']} s: {c['pastes_answered']} "
        f"answered {c['paste_statuses']}, longest {c['paste_max_seconds']} s. Meanwhile "
        f"GET /healthz every 50 ms: {c['healthz_requests']} answers, p50 {c['healthz_p50_ms']} ms, "
        f"p99 {c['healthz_p99_ms']} ms, max {c['healthz_max_ms']} ms.",
    ]
    if c["failures"]:
        lines.append(f"Failures: {c['failures']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=TMP / "kb-bench-all")
    parser.add_argument("--archive", type=Path, default=ALL_ARCHIVE)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("KB_WORKERS", 3)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the JSON report here")
    args = parser.parse_args()
    if not (args.home / "kb.sqlite3").exists():
        prepare_home(args.home, args.archive)
    limits = Config.from_env()
    cases = worst_cases(limits, args.seed)
    # Nothing is written to the store: matches are not recorded.
    env = dict(os.environ, KB_HOME=str(args.home), KB_RECORD_ACTIVITY="0", PYTHONPATH=str(ROOT))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers)]
    argv += ["--config", "python:service.gunicorn_conf", "--access-logfile", "/dev/null"]
    argv += ["--log-level", "warning", "--bind", f"127.0.0.1:{port}", "service.wsgi:app"]
    with tempfile.TemporaryDirectory() as metrics:
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics
        server = start(argv, env)
        try:
            wait_ready(port, "/readyz", timeout=600, process=server)
            post(port, b"Trying to open IPC connection with APM", "text/plain")
            print("one paste at a time ...", file=sys.stderr)
            rows = sequential(port, cases, args.repeat)
            print("two at a time, /healthz polled ...", file=sys.stderr)
            together = concurrent(port, cases, args.seconds)
        finally:
            stop(server)
    articles = peek_store(Config(kb_home=args.home).store_path).articles
    report = {
        "home": str(args.home),
        "articles": articles,
        "workers": args.workers,
        "budget_ms": limits.match_budget_ms,
        "cpus": os.cpu_count(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "sequential": rows,
        "concurrent": together,
    }
    print(markdown(report))
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    worst = max(row["max_seconds"] for row in rows)
    return 0 if worst <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

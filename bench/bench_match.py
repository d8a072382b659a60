"""Latency and throughput of /v1/match under gunicorn, beside a hello-world ceiling.

Serves the knowledge base (seed plus the SMS archive, imported once into --home) with
gunicorn on 127.0.0.1, and a Flask hello-world app with the same worker count. Reports:
- p50/p95 of POST /v1/match for 1-, 20-, 200- and 2,000-line pastes, as the client saw it and as
  the server spent it (Server-Timing), over sequential requests;
- requests/s of single-line GET /v1/match lookups and of the hello-world route, with wrk at the
  same connection count, and their ratio.

    python bench/bench_match.py [--home DIR] [--archive PATH] [--workers 2] [--connections 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pastes import make_paste  # noqa: E402
from bench.serving import SMS_ARCHIVE, free_port, prepare_home, start, stop, wait_ready  # noqa: E402
from service.config import Config  # noqa: E402
from service.kb import KnowledgeBase  # noqa: E402

SIZES = {1: 60, 20: 40, 200: 30, 2000: 10}


def timed_post(port: int, body: bytes) -> tuple[float, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    conn.request("POST", "/v1/match", body=body, headers={"Content-Type": "text/plain"})
    response = conn.getresponse()
    response.read()
    client_ms = (time.perf_counter() - started) * 1000
    assert response.status == 200, response.status
    server = re.search(r"dur=([\d.]+)", response.getheader("Server-Timing") or "")
    return client_ms, float(server.group(1)) if server else float("nan")


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def wrk(url: str, connections: int, seconds: int, script: str | None = None) -> dict[str, float]:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        argv += ["-s", script]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {
        "requests_per_second": rate,
        "p99_ms": round(float(p99.group(1)) * scale[p99.group(2)], 1) if p99 else float("nan"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def measure_round(kb_port: int, hello_port: int, pastes, script: str, args) -> dict:
    """One round: paste latencies, then lookup and hello-world rates back to back."""
    result: dict[str, object] = {}
    for size, runs in SIZES.items():
        timed_post(kb_port, pastes[size][0])  # warm the workers' caches
        client, server = [], []
        for i in range(runs):
            c, s = timed_post(kb_port, pastes[size][i % len(pastes[size])])
            client.append(c)
            server.append(s)
        result[f"{size}_lines"] = {
            "client_p50_ms": p(client, 0.5),
            "client_p95_ms": p(client, 0.95),
            "server_p50_ms": p(server, 0.5),
            "server_p95_ms": p(server, 0.95),
        }
    lookups = wrk(f"http://127.0.0.1:{kb_port}", args.connections, args.seconds, script)
    ceiling = wrk(f"http://127.0.0.1:{hello_port}/hello", args.connections, args.seconds)
    result["single_line_lookups"] = lookups
    result["hello_world"] = ceiling
    result["lookup_share_of_hello_world"] = round(
        lookups["requests_per_second"] / ceiling["requests_per_second"], 3
    )
    return result


def median_of(rounds: list[dict]) -> dict:
    """The median of every number across rounds, keeping the report's shape."""
    first = rounds[0]
    out: dict[str, object] = {}
    for key, value in first.items():
        if isinstance(value, dict):
            out[key] = median_of([r[key] for r in rounds])
        else:
            out[key] = round(statistics.median(r[key] for r in rounds), 3)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", default=str(Path(tempfile.gettempdir()) / "kb-bench-sms"))
    parser.add_argument("--archive", default=str(SMS_ARCHIVE))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="report medians of this many")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed for the throughput part: apt-get install wrk", file=sys.stderr)
        return 2
    home = Path(args.home)
    articles = prepare_home(home, Path(args.archive))
    kb = KnowledgeBase(Config(kb_home=home))
    rng = random.Random(11)
    pastes = {n: [make_paste(kb, n, rng).encode() for _ in range(5)] for n in SIZES}
    lines = [
        r["text"]
        for r in kb.store.conn.execute(
            "SELECT text FROM symptoms WHERE kind='log_line' ORDER BY random() LIMIT 200"
        )
    ]
    kb.close()

    env = dict(os.environ, KB_HOME=str(home), PYTHONPATH=str(ROOT))
    kb_port, hello_port = free_port(), free_port()
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(args.workers),
        "--log-level",
        "warning",
    ]
    service = start(
        gunicorn
        + [
            "--config",
            "python:service.gunicorn_conf",
            "--access-logfile",
            "/dev/null",
            "--bind",
            f"127.0.0.1:{kb_port}",
            "service.wsgi:app",
        ],
        env,
    )
    hello = start(gunicorn + ["--bind", f"127.0.0.1:{hello_port}", "bench.hello_app:app"], env)
    report: dict[str, object] = {
        "articles": articles,
        "workers": args.workers,
        "rounds": args.rounds,
    }
    script = None
    try:
        wait_ready(kb_port, "/readyz")
        wait_ready(hello_port, "/hello")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            paths = ",".join(json.dumps("/v1/match?line=" + quote(line)) for line in lines)
            lua.write(
                f"local paths = {{{paths}}}\n"
                "request = function()\n"
                "  return wrk.format('GET', paths[math.random(#paths)])\nend\n"
            )
            script = lua.name
        rounds = [
            measure_round(kb_port, hello_port, pastes, script, args) for _ in range(args.rounds)
        ]
        report.update(median_of(rounds))
        report["statistics"] = (
            f"medians of {args.rounds} rounds; in each, client and server p50/p95 over sequential "
            f"requests, and wrk -t2 -c{args.connections} -d{args.seconds}s for rates"
        )
    finally:
        stop(service)
        stop(hello)
        if script:
            os.unlink(script)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

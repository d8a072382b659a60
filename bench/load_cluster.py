"""Load on two nodes over one PostgreSQL store, beside one node over SQLite: `make load-cluster`.

The SMS archive is imported once into a SQLite KB_HOME and once into a throw-away PostgreSQL
server (or --database-url). Then, with the request mix of `make load` (bench/load.lua: one-line
lookups, 200-line pastes, record reads, searches, drawn from the archive):

1. one `kb serve` node over PostgreSQL takes 50 connections for --duration seconds: what the
   store costs alone;
2. the set-ups compared take turns, --rounds times: one node over SQLite with the 50
   connections; two `kb serve` nodes over PostgreSQL (KB_HOMEs of their own, the second's
   index built from the store at its first start) with 25 connections each, at the same time:
   the 50 connections split across them, as a load balancer that keeps each client on one
   node would; then all 50 through nginx handing each request to the node with the fewest in
   hand (bench/balancer.py; skipped when nginx is not installed). Every node is started afresh
   for each measurement. A set-up's p50 and p99 are those of all its rounds' requests
   together, and each round's p99 is given beside: a 20-second p99 moves by a fifth from one
   measurement to the next on a shared host;
3. 200-line pastes alone, one connection, on the SQLite node and on a PostgreSQL node, each
   started again for it (its workers' caches as cold on both): the latency a user waits for a
   paste, the index being local in both.

All nodes run on this machine. Each measurement has as many gunicorn workers in all as the
machine has cores (at least 2): one node has them all, two nodes half each, as an operator
sharing one machine between two nodes would give each its half (--two-node-workers sets
another count). Two nodes of as many workers each as the machine has cores time-share them
with PostgreSQL: every request then waits for the others' slices, which measures the
oversubscription, not the store. Prints requests/s, p50, p99 and errors for each; --json
gives them as JSON. The p50 and p99 of two nodes are those of all their requests together
(every latency wrk recorded, merged), with the worse node's own p99 beside.

    python bench/load_cluster.py [--duration 20] [--rounds 3] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.balancer import Balancer, nginx_binary  # noqa: E402
from bench.cluster import Node, database  # noqa: E402
from bench.load import (  # noqa: E402
    LUA_SCRIPT,
    MIX,
    build_requests,
    merged_percentile,
    parse_wrk,
    write_lua_data,
    wrk_argv,
)
from bench.serving import SMS_ARCHIVE, free_port  # noqa: E402
from service.config import Config  # noqa: E402
from service.importer import run_import  # noqa: E402
from service.kb import KnowledgeBase  # noqa: E402

CONNECTIONS = 50
WRK_THREADS = 2
# gunicorn workers per measurement, in all: one per core.
WORKERS = max(2, os.cpu_count() or 1)


def fill(config: Config, archive: Path) -> int:
    """Build the seed and import the archive into the configuration's store; its articles."""
    knowledge = KnowledgeBase(config)
    try:
        knowledge.build()
        run_import(knowledge, [archive])
        return knowledge.store.count("articles")
    finally:
        knowledge.close()


def wrk_options(connections: int, seconds: float) -> argparse.Namespace:
    """What bench/load.py's wrk helpers read of its command line."""
    return argparse.Namespace(
        threads=min(WRK_THREADS, connections), connections=connections, timeout=10,
        script=LUA_SCRIPT, duration=seconds,
    )  # fmt: skip


def load_at_once(targets: list[tuple[int, int]], data: Path, seconds: float, only: str = ""):
    """wrk against each (port, connections) at the same time; each run's result, in order."""
    running = [
        subprocess.Popen(
            wrk_argv(f"http://127.0.0.1:{port}", data, wrk_options(conns, seconds), seconds, only),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )  # fmt: skip
        for port, conns in targets
    ]
    results = []
    for process in running:
        stdout, stderr = process.communicate(timeout=seconds + 120)
        results.append(
            parse_wrk(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
        )
    return results


def summary(results: list[dict[str, Any]], rounds: int = 1) -> dict[str, Any]:
    """Runs side by side (and `rounds` such measurements one after another) as one: requests
    and errors added, requests/s per measurement, p50 and p99 of all their requests together
    (from every latency each run recorded), and the worst node's own p99 beside."""
    return {
        "requests": sum(r["requests"] for r in results),
        "requests_per_second": round(sum(r["requests_per_second"] for r in results) / rounds, 1),
        "p50_ms": round(merged_percentile(results, 50), 1),
        "p99_ms": round(merged_percentile(results, 99), 1),
        "p99_worst_node_ms": round(max(r["p99_ms"] for r in results), 1),
        "errors": sum(r["non_2xx"] + sum(r["socket_errors"].values()) for r in results),
        "error_kinds": {
            name: count
            for r in results
            for name, count in [
                *((f"status {k}", v) for k, v in r["statuses"].items() if not 200 <= int(k) < 300),
                *((f"socket {k}", v) for k, v in r["socket_errors"].items() if v),
            ]
        },
        "error_samples": [sample for r in results for sample in r["error_samples"]][:5],
        # Time in the app (Server-Timing) by kind of request: where the store's part shows.
        **{
            f"app_{stat}": {
                kind: max(r["kinds"].get(kind, {}).get(f"app_{stat}") or 0 for r in results)
                for kind in sorted({kind for r in results for kind in r["kinds"]})
            }
            for stat in ("p50_ms", "p99_ms")
        },
    }


def restart(nodes: list[Node], workers: int) -> None:
    """Stop the nodes and start them afresh with `workers` each: their caches as cold as the
    SQLite node's were at its start."""
    for node in nodes:
        node.kill(signal.SIGTERM)
        node.workers = workers
        node.start()
    for node in nodes:
        node.wait_ready(seconds=600)


def run(
    database_url: str, root: Path, seconds: float, two_node_workers: int, rounds: int
) -> dict[str, Any]:
    """Both stores filled, the measurements made (two nodes of `two_node_workers` workers each,
    the set-ups compared taking turns for `rounds` rounds); the figures."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    single_home, shared_home = root / "sqlite", root / "a"
    articles = fill(Config(kb_home=single_home), SMS_ARCHIVE)
    fill(Config(kb_home=shared_home, database_url=database_url), SMS_ARCHIVE)
    data = root / "requests.lua"
    write_lua_data(data, build_requests(single_home, random.Random(14)), MIX)
    single = Node("sqlite", free_port(), single_home, dict(env, KB_HOME=str(single_home)), WORKERS)
    shared = [
        Node(name, free_port(), root / name,
             dict(env, KB_HOME=str(root / name), KB_DATABASE_URL=database_url), WORKERS)
        for name in ("a", "b")
    ]  # fmt: skip
    report: dict[str, Any] = {
        "articles": articles,
        "seconds": seconds,
        "rounds": rounds,
        "workers_one_node": WORKERS,
        "workers_per_node_of_two": two_node_workers,
    }
    half = CONNECTIONS // 2
    compared: dict[str, list[list[dict[str, Any]]]] = {
        "sqlite_one_node": [],
        "postgresql_two_nodes": [],
    }
    if nginx_binary() is not None:
        compared["postgresql_two_nodes_balanced"] = []
    nodes = [single, *shared]
    try:
        # One node over PostgreSQL: what the store costs alone.
        shared[0].start()
        shared[0].wait_ready(seconds=600)
        report["postgresql_one_node"] = summary(
            load_at_once([(shared[0].port, CONNECTIONS)], data, seconds)
        )
        shared[0].kill(signal.SIGTERM)
        # The set-ups compared take turns, each started afresh every time: a host whose speed
        # drifts over minutes (other tenants, its own caches) slows them alike, where measuring
        # one, then the other, would charge the drift to whichever came second.
        for _ in range(rounds):
            restart([single], WORKERS)
            compared["sqlite_one_node"].append(
                load_at_once([(single.port, CONNECTIONS)], data, seconds)
            )
            single.kill(signal.SIGTERM)
            restart(shared, two_node_workers)
            compared["postgresql_two_nodes"].append(
                load_at_once(
                    [(shared[0].port, half), (shared[1].port, CONNECTIONS - half)], data, seconds
                )
            )
            if "postgresql_two_nodes_balanced" in compared:
                restart(shared, two_node_workers)
                balancer = Balancer(root / "nginx", free_port(), [node.port for node in shared])
                balancer.start()
                try:
                    compared["postgresql_two_nodes_balanced"].append(
                        load_at_once([(balancer.port, CONNECTIONS)], data, seconds)
                    )
                finally:
                    balancer.stop()
            for node in shared:
                node.kill(signal.SIGTERM)
        # Pastes alone on each store, each on a node started for them: a node that served
        # more of the mix before holds more of the pastes' issues explained, and explaining
        # an issue the first time costs more where the store is across a socket.
        for name, node in (("sqlite_paste_200", single), ("postgresql_paste_200", shared[1])):
            node.start()
            node.wait_ready(seconds=600)
            report[name] = summary(load_at_once([(node.port, 1)], data, seconds, "paste"))
            node.kill(signal.SIGTERM)
    finally:
        for node in nodes:
            node.kill(signal.SIGTERM)
    for name, measured in compared.items():
        report[name] = summary([r for results in measured for r in results], rounds)
        report[name]["p99_ms_per_round"] = [
            round(merged_percentile(results, 99), 1) for results in measured
        ]
    one = report["sqlite_one_node"]
    for name, key in (
        ("postgresql_two_nodes", "p99_ratio"),
        ("postgresql_two_nodes_balanced", "p99_ratio_balanced"),
    ):
        if name in report:
            two = report[name]
            report[key] = round(two["p99_ms"] / max(one["p99_ms"], 0.1), 2)
            report[f"{key}_per_round"] = [
                round(b / max(a, 0.1), 2)
                for a, b in zip(one["p99_ms_per_round"], two["p99_ms_per_round"], strict=True)
            ]
    report["p99_ratio_worst_node"] = round(
        report["postgresql_two_nodes"]["p99_worst_node_ms"] / max(one["p99_ms"], 0.1), 2
    )
    report["paste_p50_ratio"] = round(
        report["postgresql_paste_200"]["p50_ms"] / max(report["sqlite_paste_200"]["p50_ms"], 0.1),
        2,
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds per measurement")
    parser.add_argument("--database-url", default="", help="default: a throw-away server")
    parser.add_argument(
        "--two-node-workers",
        type=int,
        default=max(1, WORKERS // 2),
        help=f"gunicorn workers of each of the two nodes (default {max(1, WORKERS // 2)})",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns the compared set-ups take (default 3)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if not SMS_ARCHIVE.exists():
        # Without it both stores would hold the seed alone, and the figures would say nothing.
        raise SystemExit(f"the SMS archive is not where it is expected: {SMS_ARCHIVE}")
    root = Path(tempfile.mkdtemp(prefix="kb-load-cluster-"))
    try:
        with database(args.database_url) as (url, _restart):
            report = run(url, root, args.duration, args.two_node_workers, args.rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, value in report.items():
            print(f"{name}: {value}")
    two = report["postgresql_two_nodes"]
    return 0 if two["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

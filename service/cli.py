"""The `kb` command: build, validate, check and serve the knowledge base."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from service.config import Config
from service.curated import CuratedDataError, load_curated


def cmd_validate(config: Config, _: argparse.Namespace) -> int:
    try:
        documents = load_curated(config.kb_data)
    except CuratedDataError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    records = sum(
        len(d[k]) for d in documents for k in ("issues", "symptoms", "causes", "workarounds")
    )
    print(f"{len(documents)} article(s), {records} record(s) in {config.kb_data}: valid")
    return 0


def cmd_build(config: Config, _: argparse.Namespace) -> int:
    from service.kb import KnowledgeBase

    knowledge = KnowledgeBase(config)
    try:
        report = knowledge.build()
    except CuratedDataError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    for article_id, outcome in sorted(report.articles.items()):
        print(f"{article_id}: {outcome}")
    print(
        f"store {knowledge.store.describe()}, index {config.index_path} ({report.documents} documents)"
    )
    return 0


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    from service.kb import KnowledgeBase

    knowledge = KnowledgeBase(config)
    if not knowledge.is_built():
        print(f"nothing built under {config.kb_home}; run `kb build`", file=sys.stderr)
        return 1
    lagging = knowledge.index_lags()
    repaired = knowledge.repair() if lagging else 0
    report = {
        "store_revision": knowledge.store.revision(),
        "index_revision": knowledge.index.read_state().get("revision"),
        "index_was_behind": lagging,
        "documents_reindexed": repaired,
        "articles": knowledge.store.count("articles"),
    }
    print(json.dumps(report) if args.json else "\n".join(f"{k}: {v}" for k, v in report.items()))
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from service.kb import KnowledgeBase
    from service.metrics_access import metrics_listener

    knowledge = KnowledgeBase(config)
    knowledge.ensure_ready()
    knowledge.close()
    workers = args.workers or int(os.environ.get("KB_WORKERS") or min(4, (os.cpu_count() or 1) + 1))
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:service.gunicorn_conf",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(workers),
        *metrics_listener(config, args.host, args.port),
        "service.wsgi:app",
    ]
    env = dict(os.environ, KB_HOME=str(config.kb_home), KB_DATA=str(config.kb_data))
    # Workers write their metrics here and /metrics adds them up; a fresh directory per start,
    # so counters of a previous run are not summed in, and one per listener, so another
    # instance serving the same home neither wipes nor sums into this one's.
    metrics_dir = config.kb_home / "metrics" / f"{args.host}-{args.port}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    os.execve(sys.executable, argv, env)
    return 0  # not reached: gunicorn replaces this process


def cmd_mcp(config: Config, _: argparse.Namespace) -> int:
    """Serve MCP tools on stdin/stdout until the client closes stdin."""
    from service.mcp_server import run_stdio

    run_stdio(config)
    return 0


def cmd_openapi(_: Config, __: argparse.Namespace) -> int:
    """Print the API contract, as `openapi.yaml` holds it."""
    from service.openapi import spec_yaml

    sys.stdout.write(spec_yaml())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb", description="Knowledge base of known issues, matched from pasted logs."
    )
    parser.add_argument("--home", help="data directory (default: $KB_HOME or ./var)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validate", help="check kb_data against the schemas").set_defaults(
        run=cmd_validate
    )
    commands.add_parser("build", help="compile kb_data into the store and index").set_defaults(
        run=cmd_build
    )
    check = commands.add_parser("check", help="compare store and index; repair the index")
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.set_defaults(run=cmd_check)
    serve = commands.add_parser("serve", help="run the API under gunicorn (foreground)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None, help="default: cores + 1, at most 4")
    serve.set_defaults(run=cmd_serve)
    commands.add_parser(
        "mcp", help="serve the knowledge base as MCP tools on stdin/stdout, for chatbot clients"
    ).set_defaults(run=cmd_mcp)
    commands.add_parser(
        "openapi", help="print the API contract (OpenAPI 3.1, YAML) built from the code"
    ).set_defaults(run=cmd_openapi)
    from service.feedback_cli import add_feedback_command
    from service.importer_cli import add_import_command

    add_import_command(commands)
    add_feedback_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = Config.from_env()
    if args.home:
        from pathlib import Path

        config.kb_home = Path(args.home)
    return args.run(config, args)


if __name__ == "__main__":
    sys.exit(main())

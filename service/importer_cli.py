"""`kb import`: archives and files into the knowledge base, with progress and a summary."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from service.config import Config


def add_import_command(commands: Any) -> None:
    parser = commands.add_parser(
        "import", help="import KB articles from files, directories or .tar.gz archives"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar, even on a terminal"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        metavar="N",
        help="lower the import's CPU priority by N (default 10, 0 to keep it): a server on the "
        "same machine keeps answering quickly while a bulk import runs",
    )
    parser.set_defaults(run=cmd_import)


def _progress_bar(stream: Any):
    def show(done: int, fraction: float, summary: Any) -> None:
        if done % 25 and fraction < 1.0:
            return
        width = 30
        filled = int(width * min(1.0, fraction))
        counts = summary.counts
        stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%} "
            f"{done} read, {counts['imported']} new, {counts['updated']} updated, "
            f"{counts['skipped'] + counts['failed']} not imported"
        )
        stream.flush()

    return show


def cmd_import(config: Config, args: argparse.Namespace) -> int:
    from service.importer import run_import
    from service.kb import KnowledgeBase

    if args.nice > 0:
        # Inherited by the parsing and indexing processes the importer starts.
        os.nice(args.nice)
    knowledge = KnowledgeBase(config)
    if not knowledge.is_built():
        knowledge.build()
    show = None
    if not args.no_progress and not args.json and sys.stderr.isatty():
        show = _progress_bar(sys.stderr)
    summary = run_import(knowledge, args.paths, progress=show)
    if show is not None:
        sys.stderr.write("\n")
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        for problem in summary.problems[:50]:
            print(f"{problem['file']}: {problem['reason']}", file=sys.stderr)
        if len(summary.problems) > 50:
            print(f"... and {len(summary.problems) - 50} more", file=sys.stderr)
        counts = ", ".join(f"{v} {k}" for k, v in summary.counts.items())
        print(f"{summary.total} article file(s) in {summary.seconds:.1f}s: {counts}")
    knowledge.close()
    return 0 if summary.counts["failed"] == 0 else 1

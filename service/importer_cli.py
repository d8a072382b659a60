"""`kb import`: archives and files into the knowledge base, with progress and a summary."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
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


AUTOGROUP = Path("/proc/self/autogroup")
AUTOGROUPS_ON = Path("/proc/sys/kernel/sched_autogroup_enabled")
PR_SET_PDEATHSIG = 1


def autogroups_enabled() -> bool:
    """Whether Linux shares CPU time between sessions before processes (autogroups)."""
    try:
        return AUTOGROUP.exists() and AUTOGROUPS_ON.read_text().strip() == "1"
    except OSError:
        return False


def lower_priority(steps: int) -> None:
    """Lower this process's CPU priority by `steps`, for it and the workers it starts.

    With autogroups, CPU time is first shared between sessions, and a nice value weighs only
    against processes of its own session. So when the importer leads its session, the
    session's own weight is lowered too; otherwise a server in another session would still
    have to share the CPU evenly with the import.
    """
    os.nice(steps)
    if not (_leads_session() and autogroups_enabled()):
        return
    with contextlib.suppress(OSError, ValueError):
        current = int(AUTOGROUP.read_text().split()[-1])
        AUTOGROUP.write_text(f"{min(19, current + steps)}\n")


def _leads_session() -> bool:
    return os.getsid(0) == os.getpid()


def _die_with_parent() -> None:
    # Runs in the child before exec: a `kb import` killed outright must not leave its import
    # running on, detached.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_in_own_session(config: Config, args: argparse.Namespace) -> int:
    """Run this import as a child leading a session of its own, and wait for it.

    Started from a shell, the importer shares its session with the shell; lowering that
    session's weight would slow the user's terminal for as long as it stays open. A session of
    its own gives the import its own, lower weight. Output goes straight to this process's
    stdout and stderr; Ctrl-C, hang-up and termination are passed on to the child.
    """
    argv = [sys.executable, "-m", "service.cli", "--home", str(config.kb_home), "import"]
    argv += [*args.paths, "--nice", str(args.nice)]
    argv += ["--json"] if args.json else []
    argv += ["--no-progress"] if args.no_progress else []
    child = subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent)

    def forward(signum: int, _frame: Any) -> None:
        child.send_signal(signum)

    # A signal this process was started to ignore (SIGINT in a shell's background job) is
    # ignored by the child too, and stays so.
    passed_on = [
        signum
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(signum) is not signal.SIG_IGN
    ]
    previous = {signum: signal.signal(signum, forward) for signum in passed_on}
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    # A child ended by a signal reports it the way a shell would.
    return code if code >= 0 else 128 - code


def cmd_import(config: Config, args: argparse.Namespace) -> int:
    from service.importer import run_import
    from service.kb import KnowledgeBase

    if args.nice > 0:
        if autogroups_enabled() and not _leads_session():
            return run_in_own_session(config, args)
        lower_priority(args.nice)
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

"""`kb feedback`: review the verdicts that wait before they change any answer."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from service.config import Config


def cmd_feedback(config: Config, args: argparse.Namespace) -> int:
    from service import learning
    from service.feedback import FeedbackRefused, review
    from service.kb import KnowledgeBase

    knowledge = KnowledgeBase(config)
    try:
        if not knowledge.is_built():
            print(f"nothing built under {config.kb_home}; run `kb build`", file=sys.stderr)
            return 1
        if args.action == "pending":
            items = learning.pending_feedback(knowledge.store, args.limit)
            if args.json:
                print(json.dumps(items, indent=2))
            else:
                _print_pending(items)
            return 0
        status = 0
        for feedback_id in args.ids:
            try:
                outcome = review(knowledge, feedback_id, approve=args.action == "approve")
            except (learning.AlreadyReviewed, FeedbackRefused) as exc:
                print(f"feedback {feedback_id}: {exc}", file=sys.stderr)
                status = 1
                continue
            if outcome is None:
                print(f"feedback {feedback_id}: no such feedback", file=sys.stderr)
                status = 1
                continue
            print(
                f"feedback {feedback_id}: {outcome.feedback['status']}"
                f" ({len(outcome.learned)} line(s) learned,"
                f" {outcome.penalised_lines} line(s) lowered)"
            )
        return status
    finally:
        knowledge.close()


def _print_pending(items: list[dict[str, Any]]) -> None:
    if not items:
        print("no feedback waiting for review")
        return
    for item in items:
        verdict = "helpful" if item["helpful"] else "not helpful"
        effect = "would learn" if item["helpful"] else "would lower the issue for"
        print(f"#{item['id']} {item['created_at']} {item['issue_id']}: {verdict}")
        if item["comment"]:
            print(f"    comment: {item['comment']}")
        print(f"    {effect} {len(item['lines'])} line(s)")
        for line in item["lines"]:
            print(f"      {line}")


def add_feedback_command(commands: Any) -> None:
    """Register `kb feedback pending|approve|reject` on the `kb` command's subparsers."""
    feedback = commands.add_parser(
        "feedback", help="list verdicts waiting for review; approve or reject them"
    )
    actions = feedback.add_subparsers(dest="action", required=True)
    pending = actions.add_parser("pending", help="verdicts waiting for review, oldest first")
    pending.add_argument("--limit", type=int, default=50)
    pending.add_argument("--json", action="store_true", help="print JSON")
    for name, text in (
        ("approve", "apply verdicts: learn their lines, or lower their issue"),
        ("reject", "close verdicts without applying them"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("ids", type=int, nargs="+", metavar="ID", help="feedback id")
    feedback.set_defaults(run=cmd_feedback)

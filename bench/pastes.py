"""Realistic pastes for benchmarks: SMS-formatted lines, some from the KB, most noise."""

from __future__ import annotations

import random

from service.kb import KnowledgeBase

NOISE = [
    "Sleeping for {n} seconds...",
    "Waiting for changes to the site control file",
    "Checking for new instructions in {path}",
    "Processed {n} files from the inbox",
    "Heartbeat sent to site server {host}",
    "Reading configuration from HKLM\\Software\\Microsoft\\SMS\\Components",
    "Thread {n} exited normally",
    "Found {n} pending jobs",
    "Connection established with {host} on port {n}",
    "Component status message {n} reported",
]


def _known_lines(kb: KnowledgeBase, count: int, rng: random.Random) -> list[str]:
    total = kb.store.count("symptoms")
    lines = []
    for _ in range(count):
        row = kb.store.conn.execute(
            "SELECT text FROM symptoms WHERE kind != 'condition' LIMIT 1 OFFSET ?",
            (rng.randrange(max(1, total)),),
        ).fetchone()
        if row:
            lines.append(row["text"])
    return lines


def make_paste(kb: KnowledgeBase, lines: int, rng: random.Random) -> str:
    """`lines` lines in SMS 2.0 format: about one in ten quotes a KB symptom, the rest noise."""
    known = _known_lines(kb, max(1, lines // 10), rng)
    out = []
    for i in range(lines):
        if known and (i % 10 == 3 or lines == 1):
            message = known.pop()
        else:
            message = rng.choice(NOISE).format(
                n=rng.randint(1, 5000),
                host=f"SRV{rng.randint(1, 99):02d}",
                path=f"C:\\SMS\\inboxes\\job{rng.randint(1, 99)}.box",
            )
        out.append(
            f"{message}  $$<SMS_COMPONENT><Thu Jul 26 14:22:{i % 60:02d}.512 2001 "
            f"Pacific Standard Time><thread={rng.randint(100, 4000)} (0x{rng.randint(256, 4095):X})>"
        )
    return "\n".join(out)

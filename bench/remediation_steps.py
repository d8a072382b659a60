"""Do imported steps follow the article's own numbering? A check on a sample of an archive.

    .venv/bin/python -m bench.remediation_steps /work/shared/corpus/kbarchive-sms.tar.gz \
        [--sample 50] [--seed 15] [--numbered] [--show N]

Takes a fixed-seed sample of the archive's articles that have a RESOLUTION or WORKAROUND
section, reads those sections' numbered items straight from the article text (its own
numbering: an item numbered 1 starts a procedure, the next number continues it, an item indented
under a step belongs to that step), and compares them with the steps the importer made: the
same procedures in the same order, the same count of steps in each, numbered 1, 2, 3... and
each step starting with its item's words. Prints how many sampled articles agree and, for up to
`--show` that do not, what the article numbers and what was imported. `--numbered` samples
only articles whose remedy sections number steps (most number none, and agree trivially).

The reading here is deliberately simpler than the importer's: it knows only headings, numbered
lines and their indentation, so the importer cannot agree with it by sharing a mistake.
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field
from typing import Any

from service.importer import ImportProblem, iter_sources, parse_article

REMEDY_HEADINGS = ("RESOLUTION", "WORKAROUND")
NUMBERED = re.compile(r"^( *)(\d{1,2})[.)]\s+(\S.*)$")
ASIDE = re.compile(r"^(?:NOTE|WARNING|CAUTION|IMPORTANT)\b", re.IGNORECASE)
RAW = re.compile(r"\{% raw %\}\n?(.*?)(?:\{% endraw %\}|\Z)", re.DOTALL)
# How much of an item's first line its step must start with.
LEAD_CHARS = 40
# Lines shorter than this may well be said twice in an article; longer ones are its own.
TELLING_CHARS = 20


@dataclass
class Item:
    """A numbered item as the article writes it, and the lines after it that are not its."""

    number: int
    indent: int
    lead: str
    at: int
    # Lines of the section after this step's own text (from the next item, or from where its
    # procedure ends), as whitespace-normalised text.
    after: list[str] = field(default_factory=list)


def article_lines(text: str) -> list[str]:
    """The archive article's text lines, the leading tab of each taken off."""
    raw = RAW.search(text)
    content = raw.group(1) if raw else text
    lines = [line[1:] if line.startswith("\t") else line for line in content.split("\n")]
    return [line.replace("\t", "    ").rstrip() for line in lines]


def _is_heading(lines: list[str], i: int) -> bool:
    text = lines[i].strip()
    below = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(text and below and set(below) == {"="} and abs(len(below) - len(text)) <= 3)


def remedy_sections(lines: list[str]) -> list[list[str]]:
    """The lines of each RESOLUTION or WORKAROUND section, in the article's order."""
    heads = [i for i in range(len(lines)) if _is_heading(lines, i)]
    sections = []
    for n, start in enumerate(heads):
        end = heads[n + 1] if n + 1 < len(heads) else len(lines)
        if lines[start].strip().upper() not in REMEDY_HEADINGS:
            continue
        body = lines[start + 2 : end]
        for j, line in enumerate(body):
            # The archive's footer starts here; it is not the section's text.
            if line.strip().startswith("Additional query words") or (
                len(line.strip()) > 30 and set(line.strip()) == {"="}
            ):
                body = body[:j]
                break
        sections.append(body)
    return sections


def numbered_procedures(section: list[str]) -> list[list[Item]]:
    """The article's own procedures in a section: runs of items numbered 1, 2, 3...

    An item numbered 1 starts a procedure unless it is indented deeper than the procedure's
    items (a list inside a step); an item numbered one more than the last, at the procedure's
    indentation, continues it; any other number is not a step of its own.
    """
    procedures: list[list[Item]] = []
    for at, line in enumerate(section):
        match = NUMBERED.match(line)
        if not match:
            continue
        item = Item(int(match.group(2)), len(match.group(1)), " ".join(match.group(3).split()), at)
        current = procedures[-1] if procedures else None
        if current and item.indent > current[0].indent:
            continue
        if item.number == 1:
            procedures.append([item])
        elif current and item.number == current[-1].number + 1:
            current.append(item)
    for items in procedures:
        ends = [following.at for following in items[1:]]
        ends.append(procedure_end(section, items[-1]))
        for item, end in zip(items, ends, strict=True):
            # A line the step itself says as well (steps repeat themselves) tells nothing.
            own = " ".join(" ".join(section[item.at : end]).split())
            item.after = [line for line in _telling(section[end:]) if line not in own]
    return procedures


def procedure_end(section: list[str], last: Item) -> int:
    """Where the text of a procedure's last step ends: at the first paragraph after it that is
    not indented under it, neither a note nor a label ending in a colon (which may introduce
    more of the step)."""
    at = last.at + 1
    while at < len(section):
        if section[at].strip() and not section[at - 1].strip():
            end = at
            while end < len(section) and section[end].strip():
                end += 1
            paragraph = " ".join(line.strip() for line in section[at:end])
            indent = len(section[at]) - len(section[at].lstrip(" "))
            if indent <= last.indent and not (paragraph.endswith(":") or ASIDE.match(paragraph)):
                return at
            at = end
        at += 1
    return len(section)


def _telling(lines: list[str]) -> list[str]:
    return [" ".join(line.split()) for line in lines if len(line.strip()) >= TELLING_CHARS]


def compare(expected: list[list[Item]], imported: list[list[dict[str, Any]]]) -> str | None:
    """None when the imported procedures are the article's; else what differs, in one line."""
    if len(expected) != len(imported):
        return f"{len(expected)} numbered procedure(s) in the article, {len(imported)} imported"
    for n, (items, steps) in enumerate(zip(expected, imported, strict=True), 1):
        if len(items) != len(steps):
            return f"procedure {n}: {len(items)} steps in the article, {len(steps)} imported"
        for item, step in zip(items, steps, strict=True):
            if step["number"] != item.number:
                return f"procedure {n}: step {item.number} imported as {step['number']}"
            text = " ".join(step["text"].split())
            lead = item.lead[:LEAD_CHARS]
            if not text.startswith(lead):
                return f"procedure {n} step {item.number}: {text[:50]!r} is not {lead!r}"
            said = " ".join([text, *step.get("notes", []), *step.get("warnings", [])])
            said = " ".join(said.split())
            stray = next((line for line in item.after if line in said), None)
            if stray is not None:
                return f"procedure {n} step {item.number} holds text after it: {stray[:50]!r}"
    return None


def imported_procedures(doc: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The numbered steps of each imported workaround that has any, in order."""
    return [w["steps"] for w in doc["workarounds"] if w["steps"]]


def main(argv: list[str] | None = None) -> None:
    """Check a sample of one archive and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive")
    parser.add_argument("--sample", type=int, default=50, help="articles checked (0: all)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--numbered", action="store_true", help="only articles numbering steps")
    parser.add_argument("--show", type=int, default=10, help="disagreements printed at most")
    args = parser.parse_args(argv)
    candidates = []
    for source in iter_sources([args.archive]):
        if source.text is None:
            continue
        sections = remedy_sections(article_lines(source.text))
        if args.numbered and not any(numbered_procedures(s) for s in sections):
            continue
        if sections:
            candidates.append((source.name, source.text, sections))
    candidates.sort(key=lambda c: c[0])
    sample = candidates
    if args.sample and args.sample < len(candidates):
        sample = random.Random(args.seed).sample(candidates, args.sample)
    agree = numbered = 0
    shown = 0
    for name, text, sections in sample:
        expected = [p for section in sections for p in numbered_procedures(section)]
        numbered += bool(expected)
        try:
            doc = parse_article(text, name)
        except ImportProblem as exc:
            problem: str | None = f"not imported: {exc}"
        else:
            problem = compare(expected, imported_procedures(doc))
        if problem is None:
            agree += 1
        elif shown < args.show:
            shown += 1
            print(f"  {name.rsplit(':', 1)[-1]}: {problem}")
    kind = "numbering steps in" if args.numbered else "with"
    print(
        f"{agree} of {len(sample)} sampled articles {kind} a RESOLUTION or WORKAROUND section "
        f"have the steps the article numbers ({numbered} of them number any); "
        f"{len(candidates)} such articles in the archive"
    )


if __name__ == "__main__":
    main()

"""Paste text in, log records out, each normalised once: the only step that reads the text.

Ranking and explaining take these lines as they are; nothing after this step normalises a
paste line again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from service import budget
from service.error_codes import ErrorCode, find_codes
from service.normalize import (
    LogLine,
    NormalizedLine,
    ParsedPaste,
    is_descriptive,
    normalize,
    parse_paste,
    reports_problem,
    signature_key,
    simplify,
)


class PasteTooLarge(ValueError):
    """The paste breaks a configured bound; the message says which and what to do."""


class PasteTooCostly(PasteTooLarge):
    """Matching the paste needs more time than one request is given (KB_MATCH_BUDGET_MS)."""


@dataclass
class PasteLine:
    """One log record of a paste (never a header) with its normalised form."""

    record: LogLine
    normal: NormalizedLine
    # Read for every piece of evidence: kept as attributes rather than looked up each time.
    number: int = field(init=False)
    message: str = field(init=False)
    signature: str = field(init=False)

    def __post_init__(self) -> None:
        self.number = self.record.number
        self.message = self.record.message
        self.signature = self.normal.signature

    @cached_property
    def exact_key(self) -> str:
        """The key a symptom recorded word for word has (punctuation and case aside): whole-line
        lookups tell an exact match from a normalised one by it."""
        return signature_key(simplify(self.record.message))

    @cached_property
    def error_codes(self) -> tuple[ErrorCode, ...]:
        """The error codes the line reports, named where known: read for the lines that become
        evidence, once each."""
        return find_codes(self.record.message)

    @cached_property
    def descriptive(self) -> bool:
        """Whether the line describes a machine rather than reports a problem (each piece of
        evidence from the line is weighed by it)."""
        return is_descriptive(self.record.message)

    @cached_property
    def reports_problem(self) -> bool:
        """Whether the line says something went wrong, rather than what a process routinely
        does (see `Ranker.rank`)."""
        return reports_problem(self.record.message)


@dataclass
class Paste(ParsedPaste):
    """A paste read once: what the parser reports of it, with its records (headers left out)
    normalised."""

    lines: list[PasteLine]  # type: ignore[assignment]


def parse(text: str, *, max_lines: int, max_line_chars: int | None = None) -> Paste:
    """Split `text` into log records and normalise each one.

    Raises PasteTooLarge when it has more than `max_lines` lines; lines are read only up to
    one past that bound, so an oversized paste costs no more than a full one.
    """
    parsed = parse_paste(text, max_lines=max_lines + 1, max_line_chars=max_line_chars)
    if parsed.physical_lines > max_lines:
        raise PasteTooLarge(
            f"the paste has more than {max_lines} lines; send the part around the "
            "error (or raise KB_MAX_PASTE_LINES on the server)"
        )
    lines: list[PasteLine] = []
    for record in parsed.lines:
        if not record.is_header:
            budget.check("normalising the lines")
            lines.append(PasteLine(record, normalize(record.message)))
    return Paste(lines, parsed.format, parsed.physical_lines, parsed.log_files, parsed.truncated)

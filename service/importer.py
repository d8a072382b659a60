"""Importing KB articles from text: the plain KB format and the archive's Markdown format.

`iter_sources` streams (name, text) pairs from files, directories and `.tar.gz` archives without
unpacking them; `parse_article` turns one text into an article document that the record schema
accepts (issues, symptoms for quoted log lines and error messages, causes, workarounds with
numbered steps, related-article links). A text that cannot be parsed raises `ImportProblem`
with the reason, so a batch can report it and go on.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from schemas.records import load_article_document
from service.article_text import LineKeys, article_lines
from service.decoding import ARCHIVE_CHARSET, decode_text
from service.normalize import normalize, parse_line
from service.storage import Write
from service.storage.connection import StorageUnavailable

TEXT_SUFFIXES = (".md", ".txt", ".text", ".kb")
MAX_ARTICLE_BYTES = 2 * 1024 * 1024

SECTION_KEYS = {
    "SUMMARY": "summary",
    "SYMPTOMS": "symptoms",
    "SYMPTOM": "symptoms",
    "CAUSE": "cause",
    "RESOLUTION": "resolution",
    "WORKAROUND": "workaround",
    "STATUS": "status",
    "MORE INFORMATION": "more_information",
    "REFERENCES": "references",
}
REMEDY_SECTIONS = ("resolution", "workaround")
ISSUE_HEADING = re.compile(r"^Issue\s+(\d{1,2})\s*:?\s*(.*)$")
NUMBERED_STEP = re.compile(r"^\s*(\d{1,2})[.)]\s+(\S.*)$")
BULLET = re.compile(r"^\s*(?:[-*\u2022]|o)\s+(\S.*)$")
KB_REFERENCE = re.compile(r"\b(?:Q|KB)(\d{5,7})\b")
REFERENCE_LINE = re.compile(r"^\s*(?:Q|KB)?(\d{6})\s+(\S.{3,})$")
# "Q121847: Title" in a list of articles: a reference, whatever follows it.
REFERENCE_START = re.compile(r"^\s*(?:Q{1,2}|KB)\d{5,7}\b")
LOG_FILE_NAME = re.compile(r"\b([A-Za-z0-9_\-]+\.log)\b", re.IGNORECASE)
WARNING_START = re.compile(r"^(WARNING|CAUTION|IMPORTANT|NOTE)\b\s*:?\s*", re.IGNORECASE)
FOOTER_START = re.compile(
    r"^(Additional query words|Keywords|Technology|Version|Platform|Issue type)\s*:"
)


class ImportProblem(ValueError):
    """One text could not be imported; the message says why."""


@dataclass
class Source:
    name: str
    text: str | None
    problem: str | None = None
    # How far through its file or archive this source lies, 0..1, for progress bars.
    progress: float = 1.0


# -- reading sources ------------------------------------------------------------------------


def _wanted(name: str) -> bool:
    return name.lower().endswith(TEXT_SUFFIXES)


def iter_sources(paths: list[str | Path]) -> Iterator[Source]:
    """Every article text under the given files, directories and .tar.gz archives, streamed."""
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            yield Source(str(path), None, "no such file or directory")
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and _wanted(child.name):
                    yield _read_file(child)
        elif _is_archive(path):
            yield from _iter_tar(path)
        else:
            yield _read_file(path)


def _read_file(path: Path) -> Source:
    try:
        if path.stat().st_size > MAX_ARTICLE_BYTES:
            return Source(str(path), None, f"larger than {MAX_ARTICLE_BYTES} bytes")
        return Source(str(path), decode_text(path.read_bytes(), fallback=ARCHIVE_CHARSET))
    except OSError as exc:
        return Source(str(path), None, f"cannot read: {exc.strerror or exc}")


def _iter_tar(path: Path) -> Iterator[Source]:
    try:
        size = max(1, path.stat().st_size)
        raw = open(path, "rb")  # noqa: SIM115 - closed below, after the stream ends
    except OSError as exc:
        yield Source(str(path), None, f"cannot read: {exc.strerror or exc}")
        return
    try:
        # "r|*" reads the archive as a stream: members one at a time, memory stays flat.
        with raw, tarfile.open(fileobj=raw, mode="r|*") as archive:
            for member in archive:
                if not member.isfile() or not _wanted(member.name):
                    continue
                name = f"{path}:{member.name}"
                if member.size > MAX_ARTICLE_BYTES:
                    yield Source(name, None, f"larger than {MAX_ARTICLE_BYTES} bytes")
                    continue
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                yield Source(
                    name,
                    decode_text(handle.read(), fallback=ARCHIVE_CHARSET),
                    progress=raw.tell() / size,
                )
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield Source(str(path), None, f"unreadable archive: {exc}")


# -- the two formats, read into one outline -------------------------------------------------


@dataclass
class Block:
    """A paragraph: consecutive non-blank lines, with how deep they are indented."""

    lines: list[str]
    indent: int


@dataclass
class Section:
    key: str
    heading: str
    blocks: list[Block] = field(default_factory=list)
    # (issue number, title, blocks) for "Issue N" subsections
    issues: list[tuple[int, str, list[Block]]] = field(default_factory=list)


@dataclass
class Outline:
    article_id: str
    title: str
    aliases: list[str]
    products: list[dict[str, str]]
    keywords: list[str]
    last_reviewed: date | None
    modification_type: str | None
    sections: list[Section]


def _blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    for line in lines + [""]:
        if line.strip():
            current.append(line.rstrip())
            continue
        if current:
            indent = min(len(x) - len(x.lstrip(" ")) for x in current)
            blocks.append(Block(current, indent))
            current = []
    return blocks


def _parse_date(text: str) -> date | None:
    for pattern in ("%d-%b-%Y", "%m/%d/%Y", "%Y-%m-%d", "%B %d, %Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _section_key(heading: str, taken: set[str]) -> str:
    """A key the record schema accepts ('^[a-z][a-z0-9_]*$'), short and unique in the article.

    Headings such as '3. NOTES ON MEMORY', '32-BIT DISK ACCESS' or a code comment underlined by
    accident start with a digit or a sign; the key takes the words after them.
    """
    key = SECTION_KEYS.get(heading.upper())
    if key is None:
        words = re.sub(r"[^a-z0-9]+", "_", heading.lower()).strip("_")
        key = re.sub(r"^[0-9_]+", "", words)[:60].rstrip("_") or "section"
    unique, n = key, 2
    while unique in taken and key not in SECTION_KEYS.values():
        unique, n = f"{key}_{n}", n + 1
    return unique


def _is_rule(line: str, char: str) -> bool:
    """A line of one repeated character, long enough to be a rule rather than text."""
    if char * 4 not in line:
        return False
    text = line.strip()
    return len(text) > 30 and text == char * len(text)


def _ends_text(lines: list[str], at: int) -> bool:
    """Whether the rule at `at` opens the archive's footer: its fields follow, or nothing does.

    An application note quotes its own banner between rules of '=' inside the text; cutting
    there lost whole articles.
    """
    rest = [line.strip() for line in lines[at + 1 :] if line.strip()]
    return not rest or bool(FOOTER_START.match(rest[0])) or all(set(x) == {"="} for x in rest)


def _split_sections(lines: list[str], underlined: bool) -> tuple[list[str], list[Section]]:
    """Split body lines at section headings; returns (lines before the first, sections)."""
    heads: list[tuple[int, str, int]] = []  # (line index, heading, lines the heading takes)
    for i, line in enumerate(lines):
        text = line.strip()
        if underlined:
            below = lines[i + 1].strip() if i + 1 < len(lines) else ""
            if text and below and set(below) == {"="} and abs(len(below) - len(text)) <= 3:
                heads.append((i, text, 2))
        elif text.upper() in SECTION_KEYS and text == text.upper() and not line.startswith(" "):
            heads.append((i, text, 1))
    preamble = lines[: heads[0][0]] if heads else lines
    sections = []
    for n, (start, heading, size) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        key = _section_key(heading, {s.key for s in sections})
        section = Section(key, heading)
        body = lines[start + size : end]
        section.blocks, section.issues = _split_issues(body, underlined)
        sections.append(section)
    return preamble, sections


def _split_issues(
    lines: list[str], underlined: bool
) -> tuple[list[Block], list[tuple[int, str, list[Block]]]]:
    marks: list[tuple[int, int, str, int]] = []
    for i, line in enumerate(lines):
        match = ISSUE_HEADING.match(line.strip())
        if not match or len(line.strip()) > 80:
            continue
        below = lines[i + 1].strip() if i + 1 < len(lines) else ""
        size = 2 if below and set(below) == {"-"} else 1
        if underlined and size == 1 and match.group(2):
            continue
        marks.append((i, int(match.group(1)), match.group(2).strip(), size))
    if not marks:
        return _blocks(lines), []
    intro = _blocks(lines[: marks[0][0]])
    issues = []
    for n, (start, number, title, size) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(lines)
        issues.append((number, title, _blocks(lines[start + size : end])))
    return intro, issues


def _untitled_section(lines: list[str]) -> Section:
    """An article without headings is one section of text after its header block."""
    rules = [i for i, line in enumerate(lines) if line.strip().startswith("-----")]
    start = rules[1] + 1 if len(rules) >= 2 else 0
    for i, line in enumerate(lines[:40]):
        if line.strip().startswith("This article was previously published"):
            start = max(start, i + 1)
    section = Section("summary", "SUMMARY")
    section.blocks, section.issues = _split_issues(lines[start:], False)
    return section


def _applies_to_section(lines: list[str]) -> Section:
    """The "applies to" block between the header's two rules, as a section of its own."""
    rules = [i for i, line in enumerate(lines) if line.strip().startswith("-----")]
    inside = lines[rules[0] + 1 : rules[1]] if len(rules) >= 2 else []
    section = Section("applies_to", "APPLIES TO")
    section.blocks = _blocks(inside)
    return section


def _products(product_line: str, version_line: str) -> list[dict[str, str]]:
    products = [p.strip() for p in product_line.split(",") if p.strip()] if product_line else []
    versions = []
    for part in version_line.split(","):
        part = part.strip()
        if ":" in part:
            part = part.split(":", 1)[1].strip()
        if part and part not in versions:
            versions.append(part)
    out = []
    for product in products or ([] if not versions else ["(unspecified product)"]):
        for version in versions or [""]:
            out.append({"product": product, "version": version})
    return out


# A "Keywords:" line of the article's footer.
KEYWORDS_LINE = re.compile(r"^\s*Keywords\s*:\s*(.*)$")
RAW_START, RAW_END = "{% raw %}", "{% endraw %}"


def _raw_block(body: str) -> str:
    """The text of the body's first `{% raw %}` block (to its end tag or the body's end), or
    the whole body when it has none. Found with `str.find`: a lazy pattern to the end tag tries
    the tag at every character of the article."""
    start = body.find(RAW_START)
    if start < 0:
        return body
    start += len(RAW_START)
    if body.startswith("\n", start):
        start += 1
    end = body.find(RAW_END, start)
    return body[start:] if end < 0 else body[start:end]


def outline_archive(text: str, name: str) -> Outline:
    """The archive's Markdown: front matter, a raw block of tab-indented text."""
    front = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not front:
        raise ImportProblem("no front matter ('---' block) at the top")
    title_match = re.search(r'^title:\s*"?(.*?)"?\s*$', front.group(1), re.MULTILINE)
    body = text[front.end() :]
    content = _raw_block(body)
    lines = [line[1:] if line.startswith("\t") else line for line in content.split("\n")]
    lines = [line.replace("\t", "    ") for line in lines]
    header: dict[str, str] = {}
    for line in lines[:12]:
        match = re.match(
            r"^\s*(Article|Product\(s\)|Version\(s\)|Operating System\(s\)|"
            r"Keyword\(s\)|Last Modified):\s*(.*)$",
            line,
        )
        if match:
            header[match.group(1)] = match.group(2).strip()
    article = header.get("Article", "")
    id_match = re.match(r"^(?:Q|KB)?(\d{1,8})$", article)
    if not id_match:
        from_name = re.search(r"Q(\d{5,7})", name)
        if not from_name:
            raise ImportProblem("no article number (no 'Article: Qnnnnnn' line)")
        id_match = from_name
    article_id = str(int(id_match.group(1)))
    title = (title_match.group(1) if title_match else "").strip()
    # The front matter writes quotes as HTML does ("&quot;Bad Command&quot;" in 1,300 titles).
    title = html.unescape(re.sub(r"^(?:Q|KB)\d+:\s*", "", title).replace('\\"', '"'))
    if not title:
        raise ImportProblem("no title in the front matter")
    keywords = header.get("Keyword(s)", "").split()
    footer = len(lines)
    for i, line in enumerate(lines):
        match = KEYWORDS_LINE.match(line) if "Keywords" in line else None
        if match:
            keywords += match.group(1).split()
        if (
            footer == len(lines)
            and i > 12
            and (
                line.strip().startswith("Additional query words")
                or (_is_rule(line, "=") and not lines[i - 1].strip() and _ends_text(lines, i))
            )
        ):
            footer = i
    lines = lines[:footer]
    preamble, sections = _split_sections(lines, underlined=True)
    if not any(section.blocks or section.issues for section in sections):
        # Text before the first heading is the article when the headings hold none (an empty
        # SUMMARY after the text): without it the article would have no text at all.
        sections = [_untitled_section(preamble)]
    if not any(section.blocks or section.issues for section in sections):
        # Some archive articles were published as a title and the list of products they apply
        # to: the list is what there is, and the title still finds the article.
        sections = [_applies_to_section(preamble)]
    return Outline(
        article_id=article_id,
        title=title,
        aliases=[f"Q{article_id}", f"KB{article_id}"],
        products=_products(header.get("Product(s)", ""), header.get("Version(s)", "")),
        keywords=list(dict.fromkeys(keywords)),
        last_reviewed=_parse_date(header.get("Last Modified", "")),
        modification_type=None,
        sections=sections,
    )


def outline_plain(text: str, name: str) -> Outline:
    """The plain KB text: 'Title (nnnnnn)', applies-to bullets, CAPITAL section headings."""
    lines = [line.replace("\t", "    ") for line in text.replace("\r\n", "\n").split("\n")]
    first = next((line.strip() for line in lines if line.strip()), "")
    match = re.match(r"^(.*\S)\s*\((?:Q|KB)?(\d{1,8})\)$", first)
    if not match:
        raise ImportProblem("the first line is not 'Title (KB number)'")
    title, article_id = match.group(1), str(int(match.group(2)))
    products = []
    applies = text.split("applies to:", 1)
    if len(applies) == 2:
        for line in applies[1].split("\n")[1:]:
            bullet = BULLET.match(line)
            if bullet:
                products.append(_product_from_sentence(bullet.group(1)))
            elif line.strip() and products:
                break
    modification = re.search(r"Modification Type:\s*([A-Za-z]+?)(?:Last Reviewed|\s|$)", text)
    reviewed = re.search(r"Last Reviewed:\s*([\d/]+)", text)
    keywords = re.search(r"Keywords:\s*(.*)$", text, re.MULTILINE)
    cut = next((i for i, line in enumerate(lines) if line.startswith("Modification Type:")), None)
    preamble, sections = _split_sections(lines[:cut], underlined=False)
    if not sections:
        sections = [_untitled_section(preamble[1:])]
    return Outline(
        article_id=article_id,
        title=title,
        aliases=[f"Q{article_id}", f"KB{article_id}"],
        products=[p for p in products if p["product"]],
        keywords=keywords.group(1).split() if keywords else [],
        last_reviewed=_parse_date(reviewed.group(1)) if reviewed else None,
        modification_type=modification.group(1) if modification else None,
        sections=sections,
    )


def _product_from_sentence(text: str) -> dict[str, str]:
    match = re.match(r"^(.*?)\s+(?:versions?\s+)?(\d[\w.]*(?:\s+SP\d+)?)\s*$", text.strip())
    if match:
        return {"product": match.group(1).strip(), "version": match.group(2).strip()}
    return {"product": text.strip(), "version": ""}


# -- from outline to records ----------------------------------------------------------------


def _is_prose(line: str) -> bool:
    words = line.split()
    return len(words) >= 6 and sum(w.isalpha() for w in words) / len(words) > 0.7


def _quoted_records(
    block: Block,
    base_indent: int,
    intro: str,
    after_quote: bool,
    under_log_header: bool = False,
    quote_indent: int | None = None,
) -> list[str]:
    """The log lines or messages a block quotes, re-joined where the archive wrapped them.

    A block is a quotation when it carries SMS trailers, follows a log file's name, or follows
    an introduction that speaks of a log, an error or a message (ending in ':', after another
    quotation, or with the block indented deeper than the text around it). An error message
    is often a sentence, so the block right after an introduction that announces a message is
    taken even when it reads like prose when it is indented deeper; at the text's own depth
    only a short one after "...the following error message:" is, not in the article's voice.
    """
    lines = [line.strip() for line in block.lines]
    has_trailer = any("$$<" in line for line in lines)
    if has_trailer or under_log_header:
        return _log_records(block)
    deeper = block.indent > base_indent
    # A quotation goes on at its own depth; back at the text's depth after an indented one,
    # the article speaks again ("The agent then stops.").
    goes_on = after_quote and quote_indent is not None and block.indent >= quote_indent
    introduced = (intro.rstrip().endswith(":") and not after_quote) or goes_on
    if not (deeper or introduced):
        # Most blocks are the article's paragraphs: out before reading what the intro says.
        return []
    if NUMBERED_STEP.match(lines[0]) or (
        (REFERENCE_LINE.match(lines[0]) or REFERENCE_START.match(lines[0])) and not has_trailer
    ):
        return []
    # What the text around a block says it is decides: a log or an error is evidence; code,
    # commands and listings are not, however they are indented. The last sentence is the one
    # that introduces the block ("... To fix it, type the following command:").
    last = _last_sentence(intro)
    # "...the following errors" is about errors even when a "logon script" or "sample
    # entries" are named on the way.
    code = bool(CODE_INTRO.search(last)) and not STRONG_MESSAGE_INTRO.search(last)
    about_evidence = bool(EVIDENCE_INTRO.search(intro)) and not code
    announces_message = bool(MESSAGE_INTRO.search(last)) and not code
    if BULLET.match(lines[0]) and not (introduced and announces_message):
        return []
    # Only the block right after its introduction may read like prose: the text after a quoted
    # message goes back to the article's voice ("A second, similar event is logged when...").
    # A quotation that goes on at its own depth or deeper (the next lines of a dialog or an
    # indented log) is still the quotation.
    code_lines = sum(1 for line in lines if CODE_STATEMENT.search(line))
    if code_lines and code_lines * 3 >= len(lines):
        # A block of source code quotes no message, whatever its other lines look like.
        return []
    # Without a colon, "...may cause an error on the client." still points at what follows;
    # a step ("8. Click OK in the Links dialog box.") is followed by more of the step.
    points = intro.rstrip().endswith(":") or not (NUMBERED_STEP.match(last) or BULLET.match(last))
    if deeper and (
        (announces_message and points and not after_quote)
        or (goes_on and about_evidence and not ARTICLE_VOICE.match(lines[0]))
    ):
        records = _unwrap(block)
    elif introduced and about_evidence and not all(map(_is_prose, lines)):
        records = _unwrap(block)
        if _shared_lead(block.lines) is None:
            # Lines of a log share their first word; without it, a sentence is prose.
            records = [r for r in records if not _is_sentence(r)]
    elif (
        not after_quote
        and intro.rstrip().endswith(":")
        and announces_message
        and len(lines) <= 3
        and not ARTICLE_VOICE.match(lines[0])
    ):
        records = _unwrap(block)
    else:
        return []
    records = [_unquote(BULLET.sub(r"\1", r)) for r in records]
    return [
        r
        for r in records
        if _quotable(r)
        and not LIST_ITEM.match(r)
        and not INTRODUCTION.search(r)
        and not ARTICLE_NOTE.match(r)
        and not TABLE_LINE.match(r)
    ][:MAX_SYMPTOMS]


def _log_records(block: Block) -> list[str]:
    """Log lines: a line carrying an SMS trailer goes on until its '$$<...>' trailer ends."""
    records: list[str] = []
    has_trailer = any("$$<" in line for line in block.lines)
    for line in (x.strip() for x in block.lines):
        if has_trailer:
            # Join wrapped pieces until the record carries its $$<...> trailer to the end.
            if records and ("$$<" not in records[-1] or not records[-1].endswith(">")):
                joint = "  " if line.startswith("$$<") else " "
                records[-1] = f"{records[-1]}{joint}{line}"
                continue
            records.append(line)
        else:
            records = _unwrap(block)
            break
    return [r for r in records if len(r) >= 8 and any(c.isalpha() for c in r)][:MAX_SYMPTOMS]


# The archive was hard-wrapped at 80 columns: a line is taken as wrapped when the next line's
# first word would have made it longer than this.
WRAP_COLUMNS = 80
MAX_SYMPTOMS = 200
DANGLING = re.compile(
    r"\s(?:the|a|an|to|of|in|on|for|from|with|and|or|by|at|is|was|are|were|be|that|this)$",
    re.IGNORECASE,
)


def _lead(line: str) -> str:
    """The shape of a line's first word: '[05/03/99' -> '[99/99/99', 'Package' stays."""
    first = line.split(maxsplit=1)[0] if line.strip() else ""
    return re.sub(r"\d", "9", first)


def _shared_lead(lines: list[str]) -> str | None:
    """The first word most lines of a block start with, when they share one.

    It marks where records start ("[99/99/99", "Package", "SMSCLI:"); a word of the
    language ("the") may start a wrapped piece as well, so it marks nothing.
    """
    leads = [_lead(line) for line in lines]
    # Of leads as common as each other, the first to come: a set's order would differ from one
    # process to the next, and so would the records an import makes of the block.
    common = max(dict.fromkeys(leads), key=leads.count)
    if leads.count(common) >= max(3, (len(lines) + 1) // 2) and not common.islower():
        return common
    if len(lines) == 2 and leads[0] == leads[1] and not common.isalpha():
        return common
    return None


def _unwrap(block: Block) -> list[str]:
    """The block's lines with the archive's hard wraps undone: one record per quoted line.

    A line continues the one before when that one was long enough to have been wrapped
    (the next line's first word would not have fitted within WRAP_COLUMNS), or it starts in
    lower case after a long line. When the block's lines share a first word ('Package Command
    Manager ==> ...', '[05/03/99 ...]'), a line starting with it starts a record and one that
    does not continues a long line before it; a sentence's end followed by a capital starts
    a record.
    """
    raw = [line.rstrip() for line in block.lines]
    common = _shared_lead(raw)
    hard_wrapped = max(map(len, raw)) <= WRAP_COLUMNS + 2
    records: list[str] = []
    previous = ""
    for line in raw:
        text = line.strip()
        word = text.split(maxsplit=1)[0]
        if records and _continues(
            previous, word, common is not None, _lead(line) == common, hard_wrapped
        ):
            records[-1] = f"{records[-1]} {text}"
        else:
            records.append(text)
        previous = line
    return records


def _continues(
    previous: str, word: str, shared: bool, has_lead: bool, hard_wrapped: bool = True
) -> bool:
    """Whether a line whose first word is `word` is the wrapped rest of `previous`.

    `hard_wrapped` is false for a block with lines longer than the archive's wrap (a dump
    or a listing kept as it was): there a long line is not a sign of wrapping.
    """
    if shared:
        return not has_lead and len(previous) >= 60
    if previous.endswith((".", "!", "?")) and word[:1].isupper():
        return False
    if DANGLING.search(previous):
        # "... the semaphore from" / "... ("<name>"). The": a line cannot end there.
        return True
    if hard_wrapped and len(previous) + 1 + len(word) > WRAP_COLUMNS:
        return True
    return hard_wrapped and len(previous) >= 66 and word[:1].islower()


def _unquote(text: str) -> str:
    """A message quoted whole ('"Access is denied."') without its quotation marks."""
    match = re.fullmatch(r"[\"\u201c](.+?)[\"\u201d]([.,;]?)", text.strip())
    return match.group(1).strip() if match else text.strip()


# A line of an .ini file or a setting: "[Microsoft Mail]", "MailBeep=<path>".
# "ID=3400: SMS Scheduler does not..." is a status message, not a setting.
SETTING_LINE = re.compile(r"^\[[^\]]{1,60}\]$|^[A-Za-z][\w.]*=(?:<[^>]*>|[^\s:]+)$")
# A registry key or value, a path or file name, a URL: named in messages, never one alone.
PATH_TOKEN = re.compile(r"^(?:HKEY_|HKLM\\|HKCU\\|[A-Za-z]:\\|\\\\|%\w+%|https?://|www\.)|[\\/]")
FILE_NAME = re.compile(r"^[\w$~-]+(?:\.[A-Za-z0-9]{1,4})+[,.;:]?$")


def _quotable(record: str) -> bool:
    """A quoted line worth matching: not code, a registry listing, a path or URL alone."""
    if len(record) < 8 or not any(c.isalpha() for c in record) or CODE_LINE.search(record):
        return False
    if re.search(r"\bHKEY_|\bHKLM\\|\bREG_(?:SZ|DWORD|EXPAND_SZ|MULTI_SZ|BINARY)\b", record):
        return False
    if SETTING_LINE.match(record):
        return False
    words = [w for w in record.split() if not PATH_TOKEN.search(w) and not FILE_NAME.match(w)]
    return bool(words)


def _last_sentence(text: str) -> str:
    """The sentence an introduction ends with: the one that announces what follows."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip())
    return parts[-1] if parts else ""


# Short lines that still name an error: a constant (WBEM_E_FAILED, SREQ_STATUS_ERROR) or a
# numbered error or message ("Win32 error = 3", "Message ID 1418").
ERROR_CONSTANT = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")
NUMBERED_ERROR = re.compile(r"\b(?:error|message id|status)\W{0,3}\d+", re.IGNORECASE)


def _carries_evidence(record: str) -> bool:
    """Enough of a line to recognise it by: an error code or name, or two words of three letters.

    What the archive's wrapping leaves behind ("Properties]", "8:55:04 AM 260 (0x104)", a
    bare URL) would otherwise become symptoms that match nothing and clutter the issue.
    """
    message = parse_line(record)[0]
    normal = normalize(message)
    if normal.codes or ERROR_CONSTANT.search(message) or NUMBERED_ERROR.search(message):
        return True
    return sum(1 for term in normal.terms if len(term) >= 3 and term.isalpha()) >= 2


EVIDENCE_INTRO = re.compile(
    r"\b(log|logs|logged|error|errors|message|messages|event|warning|displayed|displays|"
    r"receive|received|appears?|reports?|reported|fails?|failed|status|output|trace|entry|"
    r"entries|dialog)\b",
    re.IGNORECASE,
)
CODE_INTRO = re.compile(
    r"\b(code|sample|example|macro|program|script|syntax|statement|function|procedure|"
    r"listing|declare|declaration|type the following|add the following|command|commands|"
    r"query on|following query|following words|keywords)\b"
    # "The first error occurs if:" lists conditions, not messages.
    r"|\b(?:if|when|because|after|before|unless|conditions|scenarios|reasons)\s*:\s*$",
    re.IGNORECASE,
)
# Lines of source code, settings and file listings, which a log paste never quotes.
CODE_LINE = re.compile(
    r"(;\s*$|[{}]\s*$|^\s*(//|/\*|#include|#define|<!--|'|REM\s)|"
    r"^\s*(Dim|Private|Public|Sub|End|Function|If|Else|For|Next|Set|Declare|Const|Option)\b|"
    r"^\s*[A-Za-z_][\w.]*(?:\(\w*\))?\s*=\s*[\w.]+\(|"
    r"\b\d{2}-\d{2}-\d{2}\s+\d{1,2}:\d{2}[ap]\b)"
)
# Statements of source code, for telling a block of code from a quoted message.
CODE_STATEMENT = re.compile(
    r"(;\s*$|\{\s*$|^\s*(//|/\*|#include|#define|<!--|REM\s)|"
    r"^\s*(Dim|Private Sub|Public Sub|Sub|End Sub|End If|End Function|Function|Next|Set \w+ =|"
    r"Declare|Const|Option Explicit|Static)\b|"
    r"^\s*[A-Za-z_][\w.]*(?:\(\w*\))?\s*=\s*[\w.]+\()"
)
LIST_ITEM = re.compile(r"^(?:[a-zA-Z]|\d{1,2}|[ivx]{1,4})[.)]\s")


def _is_sentence(text: str) -> bool:
    """Article prose (a sentence, a lettered list item), not a quoted line."""
    if LIST_ITEM.match(text):
        return True
    words = text.split()
    if len(words) < 8 or not text[:1].isupper() or not text.rstrip().endswith((".", ":", ",")):
        return False
    alpha = sum(1 for w in words if w.strip(".,;:()\"'").isalpha())
    return alpha / len(words) > 0.85


def _log_header(line: str) -> list[str] | None:
    """'Ccim32.log', 'SMSCLI.LOG:' or 'Wn_logon and Wnmanual.log' on a line of its own."""
    text = line.strip().rstrip(":").strip()
    if len(text) > 60 or not text.lower().endswith(".log"):
        return None
    names = LOG_FILE_NAME.findall(text)
    words = re.findall(r"[A-Za-z0-9_\-.]+", text)
    others = [w for w in words if w.lower() not in ("and", "or") and not w.lower().endswith(".log")]
    if len(others) > 2:
        return None
    # "Wn_logon and Wnmanual.log" names two logs, the first without its extension
    return names + [f"{w}.log" for w in others]


# An introduction that announces a message (not only a log): what follows it may be a sentence.
MESSAGE_INTRO = re.compile(
    r"\b(errors?|messages?|dialog|events?|logs?|logged|receive[sd]?|displays?|displayed|"
    r"appears?|states?|reads|says|prompts?|warnings?)\b",
    re.IGNORECASE,
)
# Lines in the article's own voice, which are not a message even right after "...message:".
ARTICLE_VOICE = re.compile(
    r"^(?:To|For (?:more|additional)|This (?:article|problem|behavior|issue|error|message|"
    r"occurs|can|may)|These|If|When|Where|Once|Note|NOTE|Microsoft|See|Click|Then|In |On |"
    r"At |You can|You must|-or-|-and-|or|and)\b"
)
# A row or a rule of a drawn table ("| Thread | WinNT client logs |", "+-----+").
TABLE_LINE = re.compile(r"^(?:\|.*\||\+[-=+]{3,})")
# The article's own notes; "Warning: ..." and "warning C4146: ..." are messages, not notes.
ARTICLE_NOTE = re.compile(r"^(?:NOTE|Note|IMPORTANT|CAUTION)\s*:")
# A line introducing the next quotation ("..., the following error message appears:").
INTRODUCTION = re.compile(
    r"(?:\byou\b|\bfollowing (?:error )?(?:messages?|entry|entries|text|lines?|keys?|may)\b"
    r"|\b(?:logs?|logged|contains?|appears?|displays?|displayed|receive)\b).*:$"
    r"|^(?:At|On|In) the [\w ]{1,40}:$",
    re.IGNORECASE,
)
STRONG_MESSAGE_INTRO = re.compile(
    r"\bfollowing\s+(?:[\w-]+\s+){0,3}?(?:errors?|messages?|warnings?|events?|entries|entry)\b"
    r"|\berror messages?\b",
    re.IGNORECASE,
)
# "-or-" and "-and-" between two quoted messages: the quotation goes on past them.
MESSAGE_KIND = re.compile(
    r"error message|message box|dialog|receive|displays|displayed|appears|prompt", re.IGNORECASE
)
LOG_WORD = re.compile(r"\.log\b|\blog\b|\blogs\b|\blogged\b|\bentr(?:y|ies)\b", re.I)
SEPARATOR = re.compile(r"^-?\s*(?:or|and)\s*-?$", re.IGNORECASE)

# A message quoted inside a sentence, straight or curly quotes, on one line or wrapped.
INLINE_QUOTE = re.compile(r"\"([^\"]{4,500}?)\"|\u201c([^\u201d]{4,500}?)\u201d")
# What names the quotation a message: the words before it in its sentence...
INLINE_BEFORE = re.compile(
    r"\b(?:errors?|messages?|dialog|warnings?|prompts?|receive[sd]?|receiving|displays?|"
    r"displayed|states?|stating|says|saying|reads|reading|events?|logged|logs?|entry|"
    r"reports?|reporting|returns?|returned|returning|fails? with|failed with|following)\W*$"
    r"|\b(?:error|message|dialog box|warning|event|log)\b[^.]{0,30}\b(?:receive[sd]?|get|see|"
    r"says?|reads?|states?|displays?|like|similar to|appears?)\W*$"
    r"|\b(?:error|message)\s+\S+\s+is\W*$",
    re.IGNORECASE,
)
# ...or the words right after it ('"Access is denied" error message', '"X" appears').
INLINE_AFTER = re.compile(
    r"^[\s,.]*(?:\(?\w+\)?\s)?(?:errors?|messages?|dialog|warnings?|events?|appears|"
    r"is displayed|is logged|is returned)\b",
    re.IGNORECASE,
)
# A sentence about the user interface ('click', 'the box that reads') quotes labels.
# So does one about the documentation ('the Help file says "..."').
INLINE_UI = re.compile(
    r"\b(?:click|select|check|clear|type|box|button|option|tab|menu|field|Help|documentation|"
    r"manual|guide|topic|article|Readme)\b",
    re.IGNORECASE,
)
INLINE_MESSAGE_WORD = re.compile(r"\b(?:error|message|warning)", re.IGNORECASE)
# A Help topic or a menu, button or option quoted by name is not a message.
INLINE_NOT_MESSAGE = re.compile(
    r"^[\s,.]*(?:\w+\s)?(?:Help|topic|menu|button|tab|command|option|check box|box|field|"
    r"folder|key|value|entry|icon|link|section|setting|property|dialog box)\b",
    re.IGNORECASE,
)


def _inline_messages(text: str) -> list[str]:
    """Messages quoted inside the article's sentences.

    'you receive the following error message: "Bad or missing Command Interpreter"' and
    '... the error "Access is denied" when ...' name a message; '"Restoring the Registry"
    Help topic', 'click "Restart the computer in MS-DOS mode"' or a quoted path do not.
    """
    if '"' not in text and "\u201c" not in text:
        return []
    text = " ".join(text.split())
    messages = []
    for match in INLINE_QUOTE.finditer(text):
        quote = (match.group(1) or match.group(2)).strip().rstrip(",;").strip()
        before = re.split(
            r"(?<=[.!?])\s+(?=[A-Z])", text[max(0, match.start() - 120) : match.start()]
        )
        after = text[match.end() : match.end() + 40]
        if not (INLINE_BEFORE.search(before[-1]) or INLINE_AFTER.match(after)):
            continue
        clause = re.split(r"[,;]\s", before[-1])[-1]
        if INLINE_UI.search(clause) and not INLINE_MESSAGE_WORD.search(clause):
            # 'Check the box that reads "Use this site system as..."': a label, not a message
            continue
        if INLINE_NOT_MESSAGE.match(after) and not INLINE_AFTER.match(after):
            continue
        if _looks_like_message(quote):
            messages.append(quote)
    return messages


def _looks_like_message(quote: str) -> bool:
    """Two words or more besides paths and file names, and something to recognise it by."""
    if re.search(r"\bHKEY_|\bHKLM\\|without (?:the )?quotation marks", quote, re.IGNORECASE):
        return False
    words = [
        w
        for w in quote.split()
        if not PATH_TOKEN.search(w) and not FILE_NAME.match(w) and re.search(r"[A-Za-z]{2}", w)
    ]
    return len(words) >= 2 and _quotable(quote) and _carries_evidence(quote)


# Event Viewer entries as the archive quotes them: "Event ID: 1025", "Source: ...", fields, and
# "Description: <the text>" - the description is what a paste of the event log carries.
EVENT_ID = re.compile(r"^Event\s+ID\s*:?\s*\d+", re.IGNORECASE)
EVENT_FIELD = re.compile(
    r"^(?:Event\s+ID|Event\s+Type|Event\s+Source|Event\s+Category|Source|Type|Category|Date|"
    r"Time|User|Computer|Event\s+Log|Log|Level|Keywords|Task Category)\s*:",
    re.IGNORECASE,
)
DESCRIPTION = re.compile(r"^Description\s*:\s*(.*)$", re.IGNORECASE)


def _event_descriptions(block: Block) -> list[str] | None:
    """The descriptions of the events a block quotes, wrapped lines joined; [] when none has.

    A block may quote several events one after another ("Event Type:", "Event Source:",
    "Event ID:", "Description: ..."); each description runs to the next event's fields.
    Without a "Description:" field, the lines that are no field are the description
    ("Event ID: 3013 Source: Rdr" and the message on the next line). None when the block
    is not an event: the text is then read by the other rules.
    """
    lines = [line.strip() for line in block.lines]
    if not any(EVENT_ID.match(line) for line in lines):
        return None
    described: list[list[str]] = []
    current: list[str] | None = None
    loose: list[str] = []
    for line in lines:
        match = DESCRIPTION.match(line)
        if match:
            current = [match.group(1)]
            described.append(current)
        elif EVENT_FIELD.match(line) or EVENT_ID.match(line):
            current = None
        elif current is not None:
            current.append(line)
        else:
            loose.append(line)
    texts = [" ".join(t for t in d if t) for d in described] if described else [" ".join(loose)]
    return [_unquote(t) for t in texts if t]


# A message named in the title: "Err Msg: <message>", "Error Message: <message>", "ScanDisk
# Err Msg on System with Hard Card: <message>", or quoted next to the word error or message.
TITLE_MESSAGE = re.compile(
    r"\b(?:Err(?:or)?\s*Msgs?|Error\s+Messages?)\b[^:\"']{0,60}:\s*(?P<message>.+)$",
    re.IGNORECASE,
)
TITLE_QUOTE = re.compile(r"\"(?P<a>[^\"]{3,})\"|(?:^|(?<=\s))'(?P<b>[^']{3,}?)'(?=\s|$|[:,])")
TITLE_ERROR_WORD = re.compile(
    r"\b(?:Err|Error|Errors|Msg|ErrMsg|Message|Messages)\b\W*$", re.IGNORECASE
)
TITLE_ERROR_AFTER = re.compile(
    r"^\W*(?:Err|Error|Errors|Msg|ErrMsg|Message|Messages)\b", re.IGNORECASE
)


def _same_message(title_message: str, text: str) -> bool:
    """Whether the text quotes the message a title names, in the title's shorter words.

    Titles are title-cased, cut short ("...") and drop words ("Glfmod2 Caused a Divide Error
    in Glfani32.dll" for "Glfmod20 caused a divide error in module Glfani32.dll.").
    """
    words = set(re.findall(r"[a-z]{3,}", title_message.lower()))
    found = set(re.findall(r"[a-z]{3,}", text.lower()))
    return bool(words) and len(words & found) >= 0.8 * len(words)


def _title_messages(title: str) -> list[str]:
    """The error message a title names, as the title writes it (often title-cased)."""
    messages = []
    for match in TITLE_QUOTE.finditer(title):
        before, after = title[: match.start()], title[match.end() :]
        if TITLE_ERROR_WORD.search(before) or TITLE_ERROR_AFTER.match(after):
            messages.append(match.group("a") or match.group("b"))
    named = TITLE_MESSAGE.search(title)
    if named and not messages:
        # A qualifier in brackets is the article's, not the message's: "(Low Memory)".
        messages.append(re.sub(r"\s*\([^)]*\)\s*$", "", named.group("message")))
    # A title names its message on purpose: two words are enough ("Stop 0x0000003f
    # NO_more_system_PTES"), where a quoted line would need more to tell it from a fragment.
    return [
        m.strip()
        for m in messages
        if _carries_evidence(m) or (len(m.split()) >= 2 and _quotable(m))
    ]


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + "..."


def _join(block: Block) -> str:
    return " ".join(line.strip() for line in block.lines)


def _body(blocks: list[Block]) -> str:
    return "\n\n".join("\n".join(line.strip() for line in b.lines) for b in blocks)


# A table's rule ("-----  -----" or one long line of dashes) and a lettered sub-step ("b. ...").
TABLE_RULE = re.compile(r"^-{10,}$|^-{3,}(?: +-{3,})+$")
LETTERED_STEP = re.compile(r"^\s*[a-z][.)]\s+\S")
BULLET_LINE = re.compile(r"^\s*(?:[-*\u2022]|o)\s")
# A line wrapped at 80 columns is filled to about this; shorter lines in a row are a listing.
LISTING_LINE_CHARS = 55
# A label naming what follows ("How to Manually Install the Hotfix:") is a short line.
LABEL_CHARS = 60


@dataclass
class Procedure:
    """One way to fix a problem, as a remedy section lays it out: what becomes one workaround.

    A section holds several when it numbers several procedures (each starting again at 1) or
    gives each its own underlined sub-heading; `title` is that sub-heading, or the label the
    article puts before a procedure's steps.
    """

    title: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)
    # Where the items of its numbered steps start: what is indented deeper belongs to a step.
    item_indent: int = 0
    # The indentation of its last warning while that warning ends in a colon: a paragraph
    # indented under it (the registry key it names) is part of it.
    open_warning: int | None = None


def _block_text(block: Block) -> str:
    """A paragraph's text: wrapped lines joined again, a table's or a listing's lines kept."""
    lines = [line.strip() for line in block.lines]
    if _keeps_lines(lines):
        return "\n".join(lines)
    return " ".join(lines)


def _keeps_lines(lines: list[str]) -> bool:
    """Whether the lines are a table, a listing (commands, values) or bulleted, rather than
    wrapped prose: a table has a rule of dashes; a listing's lines end well before the wrapping
    column."""
    if len(lines) < 2:
        return False
    if any(TABLE_RULE.match(line) or TABLE_LINE.match(line) for line in lines):
        return True
    if all(BULLET_LINE.match(line) for line in lines):
        return True
    return all(len(line) < LISTING_LINE_CHARS for line in lines[:-1])


def _item_blocks(blocks: list[Block]) -> list[Block]:
    """The blocks with a numbered item that starts inside one ("- If ...:" with "1. Edit ..." on
    the next line) split off where the item starts."""
    out: list[Block] = []
    for block in blocks:
        lines = block.lines
        while not NUMBERED_STEP.match(lines[0]):
            cut = next((n for n, x in enumerate(lines[1:], 1) if NUMBERED_STEP.match(x)), None)
            if cut is None:
                break
            out.append(_block_of(lines[:cut]))
            lines = lines[cut:]
        out.append(block if lines is block.lines else _block_of(lines))
    return out


def _block_of(lines: list[str]) -> Block:
    return Block(lines, min(len(x) - len(x.lstrip(" ")) for x in lines))


def _subheading(block: Block) -> str | None:
    """The text of an underlined sub-heading ("Method 1: Using the Installer" over dashes)."""
    if len(block.lines) != 2:
        return None
    text, rule = block.lines[0].strip(), block.lines[1].strip()
    if text and set(rule) == {"-"} and abs(len(rule) - len(text)) <= 3 and len(text) <= 80:
        return text.rstrip(":")
    return None


def _label(text: str) -> str | None:
    """A short line naming what follows, without its colon ("Using Regedt32")."""
    if "\n" in text or len(text) > LABEL_CHARS or not text.endswith(":") or ". " in text:
        return None
    return text.rstrip(":").strip() or None


def _is_warning(text: str) -> bool:
    start = WARNING_START.match(text)
    return bool(start) and start.group(1).upper() != "NOTE"


def _add_to_step(step: dict[str, Any], block: Block) -> None:
    """A paragraph inside a step: a warning or a note of the step, or more of its text (a
    sub-step, a value to type, a table: each kept one paragraph)."""
    text = _block_text(block)
    if _is_warning(text):
        step.setdefault("warnings", []).append(text)
    elif WARNING_START.match(text):
        step.setdefault("notes", []).append(text)
    else:
        step["text"] += "\n\n" + text


def _add_items(procedure: Procedure, block: Block) -> None:
    """The numbered items of a block as steps (an item's wrapped lines joined to it)."""
    current: list[str] = []
    for line in block.lines:
        item = NUMBERED_STEP.match(line)
        if item and int(item.group(1)) == len(procedure.steps) + 1:
            if current:
                procedure.steps[-1]["text"] = " ".join(current)
            procedure.steps.append({"number": len(procedure.steps) + 1, "text": ""})
            current = [item.group(2).strip()]
        else:
            current.append(line.strip())
    procedure.steps[-1]["text"] = " ".join(current)
    procedure.open_warning = None


def _add_prose(procedure: Procedure, block: Block) -> None:
    """A paragraph outside the steps: a warning (with what is indented under it, when it ends
    in a colon), or a paragraph of the description."""
    text = _block_text(block)
    if procedure.open_warning is not None and block.indent > procedure.open_warning:
        procedure.warnings[-1] += "\n\n" + text
        return
    procedure.open_warning = None
    if _is_warning(text):
        procedure.warnings.append(text)
        if text.endswith(":"):
            procedure.open_warning = block.indent
    else:
        procedure.prose.append(text)


def _introduces(text: str) -> bool:
    """Whether a paragraph announces the steps after it ("...use the following steps:")."""
    return text.rstrip().endswith(":") or bool(re.search(r"\b(?:follow|steps?)\b", text, re.I))


def _procedures(blocks: list[Block]) -> list[Procedure]:
    """A remedy section's blocks as the procedures a person would follow, in the article's order.

    Steps follow the article's own numbering: each item numbered 1, 2, 3... is a step, and
    what is indented under it (lettered sub-steps, values, tables) stays in it. Text at the
    items' own indentation after a step is held back: it is the step's when the numbering goes
    on after it, or when it labels lettered sub-steps ("Using Regedit:"); otherwise the
    procedure has ended and it, with what is indented under it (a table of files, a list of
    articles to read), is the workaround's description. An item numbered 1 after a procedure
    starts another one, as does an underlined sub-heading.
    """
    procedures = [Procedure()]
    held: list[Block] = []

    def settle(procedure: Procedure) -> None:
        for block in held:
            _add_prose(procedure, block)
        held.clear()

    for block in _item_blocks(blocks):
        procedure = procedures[-1]
        heading = _subheading(block)
        if heading is not None:
            settle(procedure)
            procedures.append(Procedure(heading))
            continue
        first = block.lines[0]
        indent = len(first) - len(first.lstrip(" "))
        item = NUMBERED_STEP.match(first)
        number = int(item.group(1)) if item else 0
        steps = procedure.steps
        text = _block_text(block)
        if steps and number == len(steps) + 1 and indent <= procedure.item_indent:
            # The numbering goes on: what was held back was more of the last step.
            for held_block in held:
                _add_to_step(steps[-1], held_block)
            held.clear()
            _add_items(procedure, block)
        elif number == 1 and (not steps or held or indent <= procedure.item_indent):
            if steps:
                procedure = _next_procedure(procedure, held)
                procedures.append(procedure)
            settle(procedure)
            procedure.item_indent = indent
            _add_items(procedure, block)
        elif not steps:
            _add_prose(procedure, block)
        elif held and LETTERED_STEP.match(first) and _label(_block_text(held[-1])):
            # "Using Regedit:" then a., b., c.: a way to do the last step, inside it.
            for held_block in [*held, block]:
                _add_to_step(steps[-1], held_block)
            held.clear()
        elif held or (indent <= procedure.item_indent and not WARNING_START.match(text)):
            held.append(block)
        elif indent <= procedure.item_indent and _is_warning(text):
            procedure.warnings.append(text)
        else:
            _add_to_step(steps[-1], block)
    settle(procedures[-1])
    if not any(p.steps for p in procedures):
        # Nothing numbered: one description, the sub-headings kept as its lines.
        merged = Procedure()
        for p in procedures:
            merged.prose += ([p.title] if p.title else []) + p.prose
            merged.warnings += p.warnings
        return [merged]
    return [p for p in procedures if p.steps or p.prose or p.warnings or p.title]


def _next_procedure(ended: Procedure, held: list[Block]) -> Procedure:
    """The procedure an item numbered 1 starts after `ended`: the paragraph just before it
    announces it and a short label before that names it; the rest of `held` closes `ended`."""
    intro = held.pop() if held and _introduces(_block_text(held[-1])) else None
    title = _label(_block_text(held[-1])) if held else None
    if title is not None:
        held.pop()
    elif intro is not None and (title := _label(_block_text(intro))) is not None:
        intro = None
    for block in held:
        _add_prose(ended, block)
    held.clear()
    procedure = Procedure(title)
    if intro is not None:
        _add_prose(procedure, intro)
    return procedure


def _workaround_title(heading: str, issue: int | None, n: int, procedure: Procedure) -> str:
    """ "Resolution", "Workaround (issue 2)", "Resolution: Manual Installation" or, for a second
    numbered procedure without a name, "Resolution (procedure 2)"."""
    said = [f"issue {issue}"] if issue else []
    if n > 1 and not procedure.title:
        said.append(f"procedure {n}")
    title = heading.capitalize() + (f" ({', '.join(said)})" if said else "")
    return f"{title}: {procedure.title}"[:500] if procedure.title else title


def _related(text: str, own_id: str) -> list[dict[str, str]]:
    related: dict[str, str] = {}
    for line in text.split("\n"):
        ref = REFERENCE_LINE.match(line)
        if ref and str(int(ref.group(1))) != own_id:
            number = str(int(ref.group(1)))
            if not related.get(number):
                related[number] = ref.group(2).strip()[:300]
            continue
        for number in KB_REFERENCE.findall(line):
            number = str(int(number))
            if number != own_id:
                related.setdefault(number, "")
    return [
        {"article_id": k, "title": v, "reason": "referenced in the article"}
        for k, v in related.items()
    ]


def document_from_outline(outline: Outline) -> dict[str, Any]:
    """Records from an outline: issues, symptoms, causes, workarounds, sections, links."""
    aid = outline.article_id
    sections = [s for s in outline.sections if not s.heading.startswith("=")]
    body_sections = []
    for section in sections:
        blocks = list(section.blocks)
        for number, title, issue_blocks in section.issues:
            blocks += [Block([f"Issue {number}" + (f": {title}" if title else "")], 0)]
            blocks += issue_blocks
        blocks = [b for b in blocks if not FOOTER_START.match(b.lines[0].strip())]
        body_sections.append(
            {"key": section.key, "heading": section.heading, "body": _body(blocks)}
        )
    issue_sections = [s for s in sections if s.issues]
    issues: list[dict[str, Any]] = []
    symptoms: list[dict[str, Any]] = []
    if issue_sections:
        for number, title, blocks in issue_sections[0].issues:
            issues.append(
                {
                    "id": f"{aid}-{number}",
                    "number": number,
                    "title": title or _first_sentence(_body(blocks)) or f"Issue {number}",
                    "description": _body(blocks),
                    "_blocks": blocks,
                }
            )
        # Issue numbers must be unique; a repeated number keeps the first.
        issues = list({i["number"]: i for i in reversed(issues)}.values())[::-1]
    else:
        symptom_section = next((s for s in sections if s.key in ("symptoms", "summary")), None)
        description = _body(symptom_section.blocks) if symptom_section else ""
        issues.append(
            {
                "id": f"{aid}-1",
                "number": 1,
                "title": outline.title,
                "description": description,
                "_blocks": [],
            }
        )
    seen_texts: dict[str, dict[str, Any]] = {}

    def add_symptom(
        text: str, issue_id: str, kind: str, files: list[str], named: bool = False
    ) -> None:
        # A fragment still counts as quoted (the quotation goes on past it), but it is not
        # made a symptom; a message the title names is no fragment.
        if not named and not _carries_evidence(text):
            return
        if text in seen_texts:
            seen_texts[text]["occurrences"] += 1
            return
        if len(symptoms) >= MAX_SYMPTOMS:
            return
        symptom = {
            "id": f"{issue_id}-s{len(symptoms) + 1:02d}",
            "issue_id": issue_id,
            "kind": kind,
            "text": text[:10_000],
            "log_files": files,
            "occurrences": 1,
        }
        seen_texts[text] = symptom
        symptoms.append(symptom)

    def add_symptoms(blocks: list[Block], issue_id: str) -> None:
        base = min((b.indent for b in blocks), default=0)
        intro, files, after_quote, under_header = "", [], False, False
        quote_indent: int | None = None
        for block in blocks:
            if len(block.lines) == 1 and SEPARATOR.match(block.lines[0].strip()):
                # "-or-" between two messages: the next block is the second message, introduced
                # like the first.
                after_quote = False
                continue
            if TABLE_LINE.match(block.lines[0].strip()):
                # A drawn table lists things; what follows it is introduced afresh.
                intro, after_quote = "", False
                continue
            descriptions = _event_descriptions(block)
            if descriptions is not None:
                for description in descriptions:
                    add_symptom(description, issue_id, "log_line", files)
                if descriptions:
                    after_quote = True
                else:
                    # "Description:" with its text in the next block
                    intro, after_quote = "The event description:", False
                continue
            header = _log_header(block.lines[0])
            if header is not None:
                files, intro, under_header = header, block.lines[0], True
                if len(block.lines) == 1:
                    after_quote = True
                    continue
                block = Block(block.lines[1:], block.indent)
            records = _quoted_records(block, base, intro, after_quote, under_header, quote_indent)
            if not records:
                text = " ".join(line.strip() for line in block.lines)
                # A label between two quotations ('At the Logon Point:') keeps what the text
                # before it announced.
                label = (
                    len(text) < 40
                    and text.endswith(":")
                    and bool(re.search(r"\b(?:error|message)", _last_sentence(intro), re.I))
                )
                intro = _last_sentence(intro) if label else text
                for message in _inline_messages(text):
                    add_symptom(message, issue_id, "error_message", [])
                named = LOG_FILE_NAME.findall(text) if ".log" in text.lower() else []
                files = list(dict.fromkeys(named)) or (files if label else [])
                after_quote = under_header = False
                continue
            after_quote, quote_indent = True, block.indent
            # What the introduction calls it: "error message" says it, then a log; a dialog
            # box or what the user receives or sees is a message.
            said = _last_sentence(intro)
            kind = "log_line"
            if "error message" in said.lower() or (
                MESSAGE_KIND.search(said) and not LOG_WORD.search(said) and not under_header
            ):
                kind = "error_message"
            for record in records:
                add_symptom(record, issue_id, kind, files)

    for issue in issues:
        add_symptoms(issue.pop("_blocks"), issue["id"])
    first_issue = issues[0]["id"]
    for section in sections:
        if section.key not in REMEDY_SECTIONS + ("cause", "status", "references"):
            add_symptoms(section.blocks, first_issue)
    # The message a title names belongs to the first issue, unless the text quotes it already
    # (the title's copy is title-cased and often cut short with "...").
    for message in _title_messages(outline.title):
        if not any(_same_message(message, text) for text in seen_texts):
            add_symptom(message, first_issue, "error_message", [], named=True)
    all_issue_ids = [i["id"] for i in issues]
    causes = []
    for section in (s for s in sections if s.key == "cause"):
        for block in section.blocks:
            text = _join(block)
            if len(text) >= 20:
                causes.append(
                    {"id": f"{aid}-c{len(causes) + 1}", "issue_ids": all_issue_ids, "text": text}
                )
    workarounds = []
    for section in (s for s in sections if s.key in REMEDY_SECTIONS):
        groups = [(None, section.blocks)] + [(n, b) for n, _, b in section.issues]
        for number, blocks in groups:
            if not blocks:
                continue
            issue_ids = (
                [f"{aid}-{number}"]
                if number and f"{aid}-{number}" in all_issue_ids
                else all_issue_ids
            )
            numbered = 0
            for procedure in _procedures(blocks):
                numbered += bool(procedure.steps)
                workarounds.append(
                    {
                        "id": f"{aid}-w{len(workarounds) + 1}",
                        "issue_ids": issue_ids,
                        "title": _workaround_title(section.heading, number, numbered, procedure),
                        "description": "\n\n".join(procedure.prose),
                        "warnings": procedure.warnings,
                        "steps": procedure.steps,
                    }
                )
    full_text = "\n".join(s["body"] for s in body_sections)
    summary_section = next((s for s in body_sections if s["key"] in ("summary", "symptoms")), None)
    summary = summary_section["body"].split("\n\n", 1)[0] if summary_section else ""
    return {
        "id": aid,
        "aliases": outline.aliases,
        "title": outline.title[:500],
        "applies_to": outline.products,
        "keywords": outline.keywords,
        "modification_type": outline.modification_type,
        "last_reviewed": outline.last_reviewed.isoformat() if outline.last_reviewed else None,
        "summary": summary,
        "sections": body_sections,
        "related": _related(full_text, aid),
        "issues": issues,
        "symptoms": symptoms,
        "causes": causes,
        "workarounds": workarounds,
    }


def parse_article(text: str, name: str = "<text>") -> dict[str, Any]:
    """One article text in either format -> a validated article document."""
    if not text.strip():
        raise ImportProblem("the file is empty")
    if text.lstrip("\ufeff").startswith("---"):
        outline = outline_archive(text.lstrip("\ufeff").replace("\r\n", "\n"), name)
    else:
        outline = outline_plain(text.lstrip("\ufeff"), name)
    if not any(section.blocks or section.issues for section in outline.sections):
        raise ImportProblem("no article text after the header")
    document = document_from_outline(outline)
    try:
        return load_article_document(document)
    except ValidationError as exc:
        raise ImportProblem(f"the parsed article is not valid: {exc.messages}") from None


# -- running an import ----------------------------------------------------------------------

OUTCOMES = ("imported", "updated", "unchanged", "kept", "skipped", "failed")
INDEX_BATCH = 500
# The index is brought up to the store at most this often during an import: each index commit
# makes every server worker open a new searcher and start its caches over, and a few commits a
# second slowed a loaded server's matches several times over for as long as an import ran.
INDEX_EVERY_SECONDS = 10.0
# Articles are written in batches, each batch one transaction (one commit, not one per article,
# which is most of a PostgreSQL import's time), each article a savepoint of its own inside it,
# so that one failing is undone alone. A batch ends at whichever bound comes first: other
# writers of the store (an article PUT, a reviewer's approval) wait for it at most this long.
WRITE_BATCH = 200
WRITE_BATCH_SECONDS = 0.25
# Sources handed to the parser processes at a time, per process: bounds memory on any archive.
PARSE_WINDOW = 64


@dataclass
class ImportSummary:
    """What an import did, per outcome, and why each failed or skipped file did."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    problems: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts,
            "total": self.total,
            "seconds": round(self.seconds, 2),
            "problems": self.problems,
        }


ParseResult = tuple[Source, dict[str, Any] | None, LineKeys | None, str | None, bool]


def _parse_source(source: Source) -> ParseResult:
    """Parse one source: (source without its text, document, its line keys, problem, whether
    it crashed). The line keys are worked out here, in the parser processes, so that the one
    process writing the store only writes them."""
    bare = Source(source.name, None, source.problem, source.progress)
    if source.text is None:
        return bare, None, None, source.problem or "unreadable", True
    try:
        document = parse_article(source.text, source.name)
        return bare, document, LineKeys.of(article_lines(document)), None, False
    except ImportProblem as exc:
        return bare, None, None, str(exc), False
    except Exception as exc:  # a parser bug on one file must not stop the batch
        return bare, None, None, f"{type(exc).__name__}: {exc}", True


def _parsed(sources: Iterator[Source], processes: int) -> Iterator[ParseResult]:
    """Parse sources in order, in worker processes when asked.

    Reading the archive, parsing and writing overlap; a semaphore keeps at most a bounded
    window of sources in flight, so memory stays flat whatever the archive's size.
    """
    if processes <= 1:
        yield from map(_parse_source, sources)
        return
    import multiprocessing
    import threading

    in_flight = threading.BoundedSemaphore(PARSE_WINDOW * processes)

    def throttled() -> Iterator[Source]:
        for source in sources:
            in_flight.acquire()
            yield source

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        for result in pool.imap(_parse_source, throttled(), chunksize=8):
            in_flight.release()
            yield result


def run_import(
    kb: Any,
    paths: list[str | Path],
    progress: Any = None,
    processes: int | None = None,
) -> ImportSummary:
    """Import every article under `paths` into the store, then index them in batches.

    Parsing runs in `processes` worker processes (default: one per core, one process for a
    single file); the store and the index are written by this process alone. Each article is
    written whole or not at all (a savepoint of its batch's transaction): a bad file, or one
    the store refuses, is reported and skipped, never aborting the batch.
    `progress(done, fraction, summary)` is called after each source.
    """
    # Marked as running, so that readiness tells the lag of an import at work from the lag an
    # import that died leaves behind (service/readiness.py).
    with kb.index.importing():
        return _import(kb, paths, progress, processes)


def _import(
    kb: Any, paths: list[str | Path], progress: Any, processes: int | None
) -> ImportSummary:
    started = time.monotonic()
    summary = ImportSummary()
    # Writes committed and not indexed yet: indexed a batch at a time (KnowledgeBase.after_write).
    pending: list[Write] = []
    kb.store.initialise()
    if not kb.index.exists():
        kb.repair()
    # A bulk load into a small store indexes everything once at the end, in all cores, rather
    # than batch by batch; until then the index lags and a crash is repaired at the next start.
    existing = kb.store.count("articles")
    deferred = False
    indexed_at = time.monotonic()
    if processes is None:
        single = len(paths) == 1 and Path(paths[0]).is_file() and not _is_archive(Path(paths[0]))
        processes = 1 if single else max(1, os.cpu_count() or 1)
    batch = _WriteBatch(kb.store)
    try:
        for source, document, lines, problem, crashed in _parsed(iter_sources(paths), processes):
            if document is None:
                summary.counts["failed" if crashed else "skipped"] += 1
                summary.problems.append({"file": source.name, "reason": problem or "unreadable"})
            else:
                write = batch.save(document, lines, source.name, summary)
                if write is not None:
                    summary.counts["imported" if write.outcome == "created" else write.outcome] += 1
            # Only committed writes are indexed: the index never holds what the store may not.
            pending.extend(batch.commit_if_due())
            if len(pending) >= INDEX_BATCH and time.monotonic() - indexed_at >= INDEX_EVERY_SECONDS:
                deferred = deferred or len(pending) + summary.total > max(INDEX_BATCH, existing)
                if not deferred:
                    kb.after_write(pending)
                    indexed_at = time.monotonic()
                pending = []
            if progress is not None:
                progress(summary.total, source.progress, summary)
    except BaseException:
        # Stopped part-way (an error, an interrupt): the open batch is rolled back, not left
        # holding the store's write lock.
        batch.abandon()
        raise
    pending.extend(batch.commit())
    if deferred:
        kb.after_write(pending, rebuild=True, procs=max(1, min(4, os.cpu_count() or 1)))
    elif pending:
        kb.after_write(pending)
    elif kb.index_lags():
        kb.repair()
    kb.changed()
    summary.seconds = time.monotonic() - started
    return summary


class _WriteBatch:
    """The import's open transaction: articles saved into it, committed together."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._open: Any = None
        self._started = 0.0
        self._writes: list[Write] = []
        self._saved = 0

    def save(
        self, document: dict[str, Any], lines: LineKeys | None, name: str, summary: ImportSummary
    ) -> Write | None:
        """Save one article into the batch; None when the store refused it (reported in
        `summary`, the rest of the batch kept)."""
        if self._open is None:
            self._open = self.store.transaction()
            self._open.__enter__()
            self._started = time.monotonic()
        try:
            # A savepoint of its own: all the store wrote of a refused article is undone.
            with self.store.transaction():
                write = self.store.save_article(document, source="imported", lines=lines)
        except StorageUnavailable:
            # Nothing more can be written: the batch is lost with the connection.
            self.abandon()
            raise
        except Exception as exc:
            if not self.store.in_transaction():
                # The database ended the whole transaction (SQLite does on a full disk): the
                # batch's other articles are gone too, and the next would fare no better.
                self.abandon()
                raise
            summary.counts["failed"] += 1
            summary.problems.append({"file": name, "reason": f"the store refused it: {exc}"})
            return None
        self._saved += 1
        if write.written:
            self._writes.append(write)
        return write

    def commit_if_due(self) -> list[Write]:
        """Commit when the batch is full or old enough; the writes committed (often none)."""
        if self._open is None:
            return []
        if self._saved < WRITE_BATCH and time.monotonic() - self._started < WRITE_BATCH_SECONDS:
            return []
        return self.commit()

    def commit(self) -> list[Write]:
        """Commit what the batch holds; the writes committed."""
        if self._open is None:
            return []
        opened, self._open = self._open, None
        opened.__exit__(None, None, None)
        writes, self._writes, self._saved = self._writes, [], 0
        return writes

    def abandon(self) -> None:
        """Roll back what the batch holds (the import is ending with an error)."""
        opened, self._open = self._open, None
        self._writes, self._saved = [], 0
        if opened is not None:
            with contextlib.suppress(Exception):
                opened.__exit__(RuntimeError, RuntimeError("the import stopped"), None)


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz", ".tar"))

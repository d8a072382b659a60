"""Importing KB articles from text: the plain KB format and the archive's Markdown format.

`iter_sources` streams (name, text) pairs from files, directories and `.tar.gz` archives without
unpacking them; `parse_article` turns one text into an article document that the record schema
accepts (issues, symptoms for quoted log lines and error messages, causes, workarounds with
numbered steps, related-article links). A text that cannot be parsed raises `ImportProblem`
with the reason, so a batch can report it and go on.
"""

from __future__ import annotations

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
from service.normalize import normalize, parse_line

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


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # The old archives are Windows text; cp1252 is what they were written in.
        return data.decode("cp1252", errors="replace")


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
        return Source(str(path), _decode(path.read_bytes()))
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
                yield Source(name, _decode(handle.read()), progress=raw.tell() / size)
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
        key = SECTION_KEYS.get(heading.upper()) or re.sub(
            r"[^a-z0-9]+", "_", heading.lower()
        ).strip("_")
        section = Section(key or "section", heading)
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


def outline_archive(text: str, name: str) -> Outline:
    """The archive's Markdown: front matter, a raw block of tab-indented text."""
    front = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    if not front:
        raise ImportProblem("no front matter ('---' block) at the top")
    title_match = re.search(r'^title:\s*"?(.*?)"?\s*$', front.group(1), re.MULTILINE)
    body = text[front.end() :]
    raw = re.search(r"\{% raw %\}\n?(.*?)(?:\{% endraw %\}|\Z)", body, re.DOTALL)
    content = raw.group(1) if raw else body
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
    title = re.sub(r"^(?:Q|KB)\d+:\s*", "", title).replace('\\"', '"')
    if not title:
        raise ImportProblem("no title in the front matter")
    keywords = header.get("Keyword(s)", "").split()
    footer = len(lines)
    for i, line in enumerate(lines):
        match = re.match(r"^\s*Keywords\s*:\s*(.*)$", line)
        if match:
            keywords += match.group(1).split()
        if (
            footer == len(lines)
            and i > 12
            and (
                line.strip().startswith("Additional query words")
                or (
                    len(line.strip()) > 30
                    and set(line.strip()) == {"="}
                    and not lines[i - 1].strip()
                )
            )
        ):
            footer = i
    lines = lines[:footer]
    preamble, sections = _split_sections(lines, underlined=True)
    if not sections:
        sections = [_untitled_section(preamble)]
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
    block: Block, base_indent: int, intro: str, after_quote: bool, under_log_header: bool = False
) -> list[str]:
    """The log lines or messages a block quotes, re-joined where the archive wrapped them.

    A block is a quotation when it carries SMS trailers, is indented deeper than the text
    around it, follows an introduction ending in ':' or another quotation, and is not prose.
    """
    lines = [line.strip() for line in block.lines]
    text = "\n".join(lines)
    has_trailer = "$$<" in text
    if NUMBERED_STEP.match(lines[0]) or BULLET.match(lines[0]):
        return []
    if REFERENCE_LINE.match(lines[0]) and not has_trailer:
        return []
    prose = all(map(_is_prose, lines))
    # What the text around a block says it is decides: a log or an error is evidence; code,
    # commands and listings are not, however they are indented.
    about_evidence = bool(EVIDENCE_INTRO.search(intro)) and not CODE_INTRO.search(intro)
    introduced = intro.rstrip().endswith(":") or after_quote or block.indent > base_indent
    if not (has_trailer or under_log_header or (introduced and about_evidence and not prose)):
        return []
    records: list[str] = []
    for line in lines:
        if has_trailer:
            # Join wrapped pieces until the record carries its $$<...> trailer to the end.
            if records and ("$$<" not in records[-1] or not records[-1].endswith(">")):
                joint = "  " if line.startswith("$$<") else " "
                records[-1] = f"{records[-1]}{joint}{line}"
                continue
            records.append(line)
        elif records and len(records[-1]) >= 72 and line[:1].islower():
            records[-1] = f"{records[-1]} {line}"
        else:
            records.append(line)
    if not (has_trailer or under_log_header):
        records = [r for r in records if not _is_sentence(r) and not CODE_LINE.search(r)]
    return [r for r in records if len(r) >= 8 and any(c.isalpha() for c in r)][:200]


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
    r"listing|declare|declaration|type the following|add the following|command|commands)\b",
    re.IGNORECASE,
)
# Lines of source code, settings and file listings, which a log paste never quotes.
CODE_LINE = re.compile(
    r"(;\s*$|[{}]\s*$|^\s*(//|/\*|#include|#define|<!--|'|REM\s)|"
    r"^\s*(Dim|Private|Public|Sub|End|Function|If|Else|For|Next|Set|Declare|Const|Option)\b|"
    r"\b\d{2}-\d{2}-\d{2}\s+\d{1,2}:\d{2}[ap]\b)"
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


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return sentence if len(sentence) <= 160 else sentence[:157].rsplit(" ", 1)[0] + "..."


def _join(block: Block) -> str:
    return " ".join(line.strip() for line in block.lines)


def _body(blocks: list[Block]) -> str:
    return "\n\n".join("\n".join(line.strip() for line in b.lines) for b in blocks)


def _steps(blocks: list[Block]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Numbered steps (wrapped lines joined), warnings, and the remaining prose."""
    steps: list[dict[str, Any]] = []
    warnings: list[str] = []
    prose: list[str] = []
    for block in blocks:
        text = _join(block)
        first = NUMBERED_STEP.match(block.lines[0])
        if first and int(first.group(1)) == len(steps) + 1:
            current = [first.group(2)]
            for line in block.lines[1:]:
                item = NUMBERED_STEP.match(line)
                if item and int(item.group(1)) == len(steps) + 2:
                    steps.append({"number": len(steps) + 1, "text": " ".join(current)})
                    current = [item.group(2)]
                else:
                    current.append(line.strip())
            steps.append({"number": len(steps) + 1, "text": " ".join(current)})
        elif WARNING_START.match(text) and WARNING_START.match(text).group(1).upper() != "NOTE":
            warnings.append(text)
        elif steps and WARNING_START.match(text):
            steps[-1].setdefault("notes", []).append(text)
        elif steps and block.indent > 0 and not first:
            steps[-1]["text"] += "\n" + text
        else:
            prose.append(text)
    return steps, warnings, prose


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

    def add_symptoms(blocks: list[Block], issue_id: str) -> None:
        base = min((b.indent for b in blocks), default=0)
        intro, files, after_quote, under_header = "", [], False, False
        for block in blocks:
            header = _log_header(block.lines[0])
            if header is not None:
                files, intro, under_header = header, block.lines[0], True
                if len(block.lines) == 1:
                    after_quote = True
                    continue
                block = Block(block.lines[1:], block.indent)
            records = _quoted_records(block, base, intro, after_quote, under_header)
            if not records:
                intro = " ".join(block.lines)
                files = list(dict.fromkeys(LOG_FILE_NAME.findall(intro)))
                after_quote = under_header = False
                continue
            after_quote = True
            kind = "log_line"
            if re.search(r"error message|message box|dialog box", intro, re.IGNORECASE):
                kind = "error_message"
            for record in records:
                # A fragment still counts as quoted (the quotation goes on past it), but it is
                # not made a symptom.
                if not _carries_evidence(record):
                    continue
                if record in seen_texts:
                    seen_texts[record]["occurrences"] += 1
                    continue
                symptom = {
                    "id": f"{issue_id}-s{len(symptoms) + 1:02d}",
                    "issue_id": issue_id,
                    "kind": kind,
                    "text": record[:10_000],
                    "log_files": files,
                    "occurrences": 1,
                }
                seen_texts[record] = symptom
                symptoms.append(symptom)

    for issue in issues:
        add_symptoms(issue.pop("_blocks"), issue["id"])
    first_issue = issues[0]["id"]
    for section in sections:
        if section.key not in REMEDY_SECTIONS + ("cause", "status", "references"):
            add_symptoms(section.blocks, first_issue)
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
            steps, warnings, prose = _steps(blocks)
            issue_ids = (
                [f"{aid}-{number}"]
                if number and f"{aid}-{number}" in all_issue_ids
                else all_issue_ids
            )
            workarounds.append(
                {
                    "id": f"{aid}-w{len(workarounds) + 1}",
                    "issue_ids": issue_ids,
                    "title": section.heading.capitalize()
                    + (f" (issue {number})" if number else ""),
                    "description": "\n\n".join(prose),
                    "warnings": warnings,
                    "steps": steps,
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


def _parse_source(source: Source) -> tuple[Source, dict[str, Any] | None, str | None, bool]:
    """Parse one source: (source without its text, document, problem, whether it crashed)."""
    bare = Source(source.name, None, source.problem, source.progress)
    if source.text is None:
        return bare, None, source.problem or "unreadable", True
    try:
        return bare, parse_article(source.text, source.name), None, False
    except ImportProblem as exc:
        return bare, None, str(exc), False
    except Exception as exc:  # a parser bug on one file must not stop the batch
        return bare, None, f"{type(exc).__name__}: {exc}", True


def _parsed(sources: Iterator[Source], processes: int) -> Iterator[tuple]:
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
    its own transaction: a bad file is reported and skipped, never aborting the batch.
    `progress(done, fraction, summary)` is called after each source.
    """
    started = time.monotonic()
    summary = ImportSummary()
    pending: list[str] = []
    created: set[str] = set()
    kb.store.initialise()
    if not kb.index.exists():
        kb.index.rebuild(kb.store)
    # A bulk load into a small store indexes everything once at the end, in all cores, rather
    # than batch by batch; until then the index lags and a crash is repaired at the next start.
    existing = kb.store.count("articles")
    deferred = False
    indexed_at = time.monotonic()
    if processes is None:
        single = len(paths) == 1 and Path(paths[0]).is_file() and not _is_archive(Path(paths[0]))
        processes = 1 if single else max(1, os.cpu_count() or 1)
    for source, document, problem, crashed in _parsed(iter_sources(paths), processes):
        if document is None:
            summary.counts["failed" if crashed else "skipped"] += 1
            summary.problems.append({"file": source.name, "reason": problem or "unreadable"})
        else:
            outcome = kb.store.save_article(document, source="imported")
            summary.counts["imported" if outcome == "created" else outcome] += 1
            if outcome in ("created", "updated"):
                pending.append(document["id"])
            if outcome == "created":
                created.add(document["id"])
        if len(pending) >= INDEX_BATCH and time.monotonic() - indexed_at >= INDEX_EVERY_SECONDS:
            deferred = deferred or len(pending) + summary.total > max(INDEX_BATCH, existing)
            if not deferred:
                kb.index.update_articles(kb.store, pending, created.intersection(pending))
                indexed_at = time.monotonic()
            pending = []
        if progress is not None:
            progress(summary.total, source.progress, summary)
    if deferred:
        kb.index.rebuild(kb.store, procs=max(1, min(4, os.cpu_count() or 1)))
    elif pending:
        kb.index.update_articles(kb.store, pending, created.intersection(pending))
    elif kb.index_lags():
        kb.repair()
    kb.changed()
    summary.seconds = time.monotonic() - started
    return summary


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz", ".tar"))

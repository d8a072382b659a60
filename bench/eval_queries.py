"""Evaluation queries made from the raw KB archive text, by rules of their own.

Nothing here asks the service how it reads an article: the quoted lines are found in the raw
`README.md` text of each archive member with the rules below, and the right answers are every
article whose raw text contains the quoted message. So the evaluation cannot agree with the
importer or the normaliser by construction; it can only agree with what an article says.

The pieces are pure functions (text in, values out), so tests can feed them small hand-written
articles; `iter_archive` and `build_queries` are the only ones that read an archive.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import tarfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("log", "single", "sentence", "typo", "wrapped")
# A message quoted by more articles than this is boilerplate ("The operation completed
# successfully"), not something that points at one issue.
BOILERPLATE_ARTICLES = 20
# Articles hard-wrap at about 80 columns; a line this long that stops without punctuation was
# most likely cut by the wrapping, not by the author.
WRAP_COLUMN = 70
MAX_MESSAGE_CHARS = 300

MEMBER = re.compile(r"kb/\d+/Q0*(\d+)/README\.md$")
HEADER_FIELD = re.compile(
    r"^(Article|Product\(s\)|Version\(s\)|Operating System\(s\)|Keyword\(s\)|Last Modified)\s*:"
)
FOOTER = re.compile(r"^(Additional query words|Keywords\s*:|\{% endraw %\})", re.I)
RULE_LINE = re.compile(r"^\s*[-=*_+]{5,}\s*$")
TRAILER = re.compile(r"\s*\$\$<.*$")
# What is left of an SMS trailer wrapped onto its own line: "<Thu Jul 26 14:22:53 ...>" or
# "Nov 04 13:07:27 1997~><thread=A0>".
TRAILER_REST = re.compile(r"^(<\w{3} \w{3} \d|\w{3} \d\d? \d\d:\d\d|.*><thread=|<thread=)")
INTRO_WORDS = re.compile(
    r"\b(error|message|log|event|dialog|display|receive|appear|output|report|state|text|"
    r"warning|prompt|entr(y|ies)|line|read|say)",
    re.I,
)
MESSAGE_WORDS = re.compile(
    r"\b(error|fail|unable|cannot|can't|could not|couldn't|not found|invalid|denied|warning|"
    r"exception|missing|stopped|timed out|not enough|violation|illegal|abort)",
    re.I,
)
INLINE_MESSAGE = re.compile(r"\b(?:Err(?:or)? Msg|Error message)\s*:\s*(.{8,})", re.I)
DOUBLE_QUOTED = re.compile(r'"([^"]{8,250})"')
NUMBERED_STEP = re.compile(r"^(\d{1,2}[.)]|\d{1,2}\s+-\s|step \d+\b|[a-z][.)]\s)", re.I)
REGISTRY_ALONE = re.compile(r"^(HKEY_|HKLM|HKCU|HKU\b)\S*(\\\S*)*\s*$", re.I)
FILE_TABLE_DATE = re.compile(r"\b\d{1,2}[-/](\d{1,2}|[A-Za-z]{3})[-/]\d{2,4}\b")
FILE_TABLE_SIZE = re.compile(r"\b\d{1,3}(,\d{3})+\b|\b\d{4,}\b")
CODE_START = re.compile(
    r"^(Dim|Sub|End |Set |If |For |Next\b|Function|Private|Public|Const|#include|#define|"
    r"Declare|Option |Call |Rem |SELECT |INSERT |UPDATE |DELETE |CREATE |EXEC )",
)
COMMAND_START = re.compile(
    r"^(net |if exist|if not|goto |echo |@echo|call |copy |xcopy |del |cd |md |start |"
    r"regedit|regedt32|rundll32|msiexec|setup |cscript|wscript|%)",
    re.I,
)
ARTICLE_REFERENCE = re.compile(r"^Q\d{5,7}\b")
# A word as prose has it: three or more letters, maybe with punctuation around, not part of an
# identifier such as SMS_SITE_CONFIG_MANAGER or a path.
REAL_WORD = re.compile(r"[\"'(<]*[A-Za-z]{3,}[.,:;!?\"')>]*")
# How a new log entry starts, so it is never taken for the rest of a wrapped one: a level or
# component in capitals ("ERROR -", "NAL[1]", "SQL>>>"), a bracket, a tilde or a number.
NEW_ENTRY = re.compile(r"^([A-Z]{3,}\b|[\[<~*\d])")
# "$$<COMPONENT>", and the slips articles make of it: "$$COMPONENT", "$<COMPONENT>".
TRAILER_START = re.compile(r"\${1,2}<[A-Z]|\$\$[A-Z]")
# Before a quoted string, these make it a name to type or click, not a message.
NAMING_BEFORE = re.compile(
    r"\b(type|run|enter|command|search on|query on|named|called|labell?ed|titled|option|click|"
    r"select|box|button|tab|menu|folder|key|value|entry|string|text)\s*$",
    re.I,
)


@dataclass
class Article:
    """One archive article: its id (digits, as the API names it), title and body lines."""

    article_id: str
    title: str
    lines: list[str]


@dataclass
class Quoted:
    """A message an article quotes, as one line, and whether the article wrapped it."""

    text: str
    wrapped: bool = False
    component: str | None = None


@dataclass
class Query:
    """One evaluation paste and what counts as a right answer."""

    kind: str
    article_id: str
    half: str
    paste: str
    correct: list[str]
    messages: list[str] = field(default_factory=list)
    as_line: bool = False

    def as_json(self) -> dict[str, object]:
        """The JSONL form written by --dump-queries."""
        return {
            "kind": self.kind,
            "article": self.article_id,
            "half": self.half,
            "correct": self.correct,
            "paste": self.paste,
            "messages": self.messages,
            "as_line": self.as_line,
        }


# ---------------------------------------------------------------------------------------------
# Reading articles


def parse_article(article_id: str, raw: str) -> Article:
    """The body lines of a raw `README.md`: tab indent stripped, header and footer left out."""
    title_match = re.search(r'^title:\s*"?(.*?)"?\s*$', raw, re.M)
    title = title_match.group(1) if title_match else ""
    start = raw.find("{% raw %}")
    text = raw[start + len("{% raw %}") :] if start >= 0 else raw
    lines: list[str] = []
    in_applies_to = False
    for raw_line in text.splitlines():
        # Every body line carries one tab of indent in the archive; deeper indent is spaces.
        line = raw_line[1:] if raw_line.startswith("\t") else raw_line
        line = line.expandtabs(8).rstrip()
        if FOOTER.match(line.strip()):
            break
        if HEADER_FIELD.match(line):
            continue
        if line.strip().startswith("The information in this article applies to"):
            in_applies_to = True
            continue
        if in_applies_to:
            # The product list ends at the second dashed rule after "applies to".
            if RULE_LINE.match(line):
                in_applies_to = False
            continue
        lines.append(line)
    return Article(article_id, title, lines)


def iter_archive(path: Path) -> Iterator[Article]:
    """Every article of a `kbarchive-*.tar.gz`, read member by member (60k do not fit twice)."""
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            found = MEMBER.search(member.name)
            if not member.isfile() or not found:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            raw = handle.read().decode("utf-8", errors="replace")
            yield parse_article(found.group(1), raw)


def paragraphs(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines; section headings and their underlines are dropped."""
    result: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if not line.strip():
            if current:
                result.append(current)
            current = []
            continue
        if RULE_LINE.match(line):
            # An underline: the line above it is a heading, not prose or a message.
            if current:
                current.pop()
            if current:
                result.append(current)
            current = []
            continue
        current.append(line)
    if current:
        result.append(current)
    return result


def indent(line: str) -> int:
    """Columns of leading spaces."""
    return len(line) - len(line.lstrip(" "))


# ---------------------------------------------------------------------------------------------
# Finding quoted lines


def ends_sentence(line: str) -> bool:
    """Whether a line stops where a sentence or message would, not mid-phrase."""
    return line.rstrip().endswith((".", "!", "?", ":", ";", ")", '"', "'", "]", ">"))


def continues(previous: str, text: str) -> bool:
    """Whether `text` is the rest of `previous`, cut there by the article's hard wrap."""
    if ends_sentence(previous) or NEW_ENTRY.match(text):
        return False
    return text[:1].islower() or len(previous.split("$$")[0]) + 2 >= WRAP_COLUMN


def rejoin_wrapped(lines: list[str]) -> list[tuple[str, int]]:
    """Join lines the article hard-wrapped; returns (line, how many article lines it took).

    A line continues on the next one when it does not end a sentence and either the next line
    starts in lowercase or the line reaches the wrap column.
    """
    joined: list[tuple[str, int]] = []
    for line in lines:
        text = line.strip()
        if joined:
            previous, count = joined[-1]
            if continues(previous, text):
                joined[-1] = (previous + " " + text, count + 1)
                continue
        joined.append((text, 1))
    return joined


def trailer_messages(lines: list[str]) -> list[Quoted]:
    """Messages of an SMS log excerpt: text before each `$$<Component>` trailer.

    A message the article wrapped before its trailer is joined back; what is left of a trailer
    wrapped onto the next line is dropped.
    """
    found: list[Quoted] = []
    pending: list[str] = []
    for line in lines:
        text = line.strip()
        if "$$" not in text and TRAILER_REST.match(text):
            continue
        if pending and not continues(pending[-1], text):
            # A line without a trailer of its own that the next line does not continue: an
            # SMS 1.x message logged bare ("~Warning ...").
            found.append(Quoted(" ".join(pending).strip(" ~"), wrapped=len(pending) > 1))
            pending = []
        trailer = TRAILER_START.search(text)
        if trailer:
            head, tail = text[: trailer.start()], text[trailer.start() :].lstrip("$<")
            if head.strip():
                pending.append(head.strip())
            component = re.match(r"([A-Z][A-Z0-9_]{2,})\b", tail)
            if pending:
                found.append(
                    Quoted(
                        " ".join(pending).strip(" ~"),
                        wrapped=len(pending) > 1,
                        component=component.group(1) if component else None,
                    )
                )
            pending = []
            continue
        pending.append(text)
    if pending:
        found.append(Quoted(" ".join(pending).strip(" ~"), wrapped=len(pending) > 1))
    return found


def is_quotable(text: str) -> bool:
    """Whether a candidate reads as a message: not a step, path, table row, URL or code."""
    stripped = text.strip().strip("\"'")
    words = [token for token in stripped.split() if REAL_WORD.fullmatch(token)]
    if len(stripped) > MAX_MESSAGE_CHARS or len(words) < 3:
        return False
    if stripped.upper().startswith(("NOTE", "WARNING:", "IMPORTANT", "CAUTION")):
        return False  # the article's own remark, not a quoted message
    # Short words ("for", "the") are lowercase even in titles; the longer ones decide.
    long_words = [w.strip("\"'()<>.,:;!?") for w in words if len(w.strip("\"'()<>.,:;!?")) >= 4]
    title_case = bool(long_words) and all(w[0].isupper() for w in long_words)
    if title_case and len(words) <= 8 and not MESSAGE_WORDS.search(stripped):
        return False  # a dialog, menu or report name, not a message
    registry_like = stripped.startswith(("HKEY_", "HKLM", "HKCU")) or re.match(r"\\\w", stripped)
    if registry_like and stripped.count("\\") >= 2 and not MESSAGE_WORDS.search(stripped):
        return False
    if NUMBERED_STEP.match(stripped) or REGISTRY_ALONE.match(stripped):
        return False
    if ARTICLE_REFERENCE.match(stripped) or stripped.startswith(("|", "+-", "- ", "* ", "o ")):
        return False
    if "http://" in stripped or "https://" in stripped or "www." in stripped:
        return False
    if stripped.endswith((";", "{", "}")) or CODE_START.match(stripped):
        return False
    if COMMAND_START.match(stripped):
        return False
    # A file table row: a date with a size or version beside it, in columns.
    if FILE_TABLE_DATE.search(stripped) and FILE_TABLE_SIZE.search(stripped):
        return False
    return not ("  " in stripped and re.search(r"\w+\.(dll|exe|sys|ocx|cpl)\s{2,}", stripped, re.I))


def quoted_lines(article: Article) -> list[Quoted]:
    """The messages and log lines an article quotes, in article order, each once."""
    found: list[Quoted] = []
    blocks = paragraphs(article.lines)
    for position, block in enumerate(blocks):
        previous = " ".join(line.strip() for line in blocks[position - 1]) if position else ""
        introduced = previous.endswith(":") and bool(INTRO_WORDS.search(previous[-200:]))
        indented = all(indent(line) >= 2 for line in block)
        if any("$$<" in line for line in block):
            found.extend(trailer_messages(block))
            continue
        # Prose after a colon is quoted only when short; an indented block may be longer. An
        # indented block without an introduction counts when it reads like an error.
        if (
            introduced
            and len(block) <= (8 if indented else 3)
            or indented
            and len(block) <= 3
            and MESSAGE_WORDS.search(" ".join(block))
        ):
            for text, count in rejoin_wrapped(block):
                found.append(Quoted(text, wrapped=count > 1))
            continue
        prose = " ".join(line.strip() for line in block)
        for match in INLINE_MESSAGE.finditer(prose):
            # The message runs to the end of its sentence: a period followed by a space.
            message = re.split(r"(?<=[.!?])\s", match.group(1))[0]
            found.append(Quoted(message.strip().strip('"')))
        for match in DOUBLE_QUOTED.finditer(prose):
            before = prose[max(0, match.start() - 120) : match.start()]
            after = prose[match.end() : match.end() + 30]
            quoted = match.group(1)
            # Quotes paired across a sentence ('", click All Tasks, and "') are not a message.
            misplaced = not (quoted[:1].isalnum() or quoted[:1] in "<[%*~") or " click " in quoted
            if misplaced or NAMING_BEFORE.search(before) or "without the quotation" in after:
                continue
            if INTRO_WORDS.search(before) or MESSAGE_WORDS.search(match.group(1)):
                found.append(Quoted(match.group(1).strip()))
    unique: dict[str, Quoted] = {}
    for quoted in found:
        text = quoted.text.strip().rstrip(":").strip().strip('"').strip()
        if is_quotable(text) and normal_form(text) not in unique:
            quoted.text = text
            unique[normal_form(text)] = quoted
    return list(unique.values())


# ---------------------------------------------------------------------------------------------
# Comparing messages with article text

GUID = re.compile(r"\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?", re.I)
HEX = re.compile(r"\b0x[0-9a-f]+\b", re.I)
DRIVE = re.compile(r"\b[a-z]:\\", re.I)
# A server part written as a placeholder (\\<Computer name>) is the placeholder rule's to fill.
UNC = re.compile(r"\\\\(?!<)[^\\\s]+")
DIGITS = re.compile(r"\d+")
NOT_WORD = re.compile(r"[^a-z0-9#]+")


def normal_form(text: str) -> str:
    """Lowercase, instance data masked, punctuation and whitespace collapsed to one space.

    Our own rule, deliberately simpler than the service's: it decides which articles contain a
    message, so it errs towards "contains" (numbers of any kind compare equal).
    """
    text = text.lower()
    text = GUID.sub(" # ", text)
    text = HEX.sub(" # ", text)
    text = UNC.sub(" \\\\srv ", text)
    text = DRIVE.sub(" drv ", text)
    text = DIGITS.sub("#", text)
    return " " + " ".join(NOT_WORD.sub(" ", text).split()) + " "


def article_text(article: Article) -> str:
    """An article's whole body in normal form, so wrapped messages compare as one line."""
    return normal_form(article.title + " " + " ".join(article.lines))


# ---------------------------------------------------------------------------------------------
# Halves


def half_of(article_id: str) -> str:
    """'tuning' or 'reporting', from a stable hash of the id (not Python's salted hash)."""
    digest = hashlib.blake2b(article_id.encode(), digest_size=8).digest()
    return "reporting" if digest[-1] % 2 else "tuning"


# ---------------------------------------------------------------------------------------------
# Making pastes

SMS_COMPONENTS = (
    "SMS_EXECUTIVE",
    "SMS_SITE_COMPONENT_MANAGER",
    "SMS_INVENTORY_DATA_LOADER",
    "SMS_DISTRIBUTION_MANAGER",
    "SMS_CLIENT_CONFIG_MANAGER",
    "SMS_DISCOVERY_DATA_MANAGER",
    "SMS_HIERARCHY_MANAGER",
    "SMS_REPLICATION_MANAGER",
    "SMS_LAN_SENDER",
    "SMS_COLLECTION_EVALUATOR",
)
CMTRACE_COMPONENTS = ("CcmExec", "PolicyAgent", "InventoryAgent", "execmgr", "LocationServices")
NOISE = (
    "Sleeping for 60 seconds",
    "Service started",
    "Processing 3 files",
    "Waiting for the next cycle",
    "Checking for new instructions",
    "Heartbeat sent to the site server",
    "Reading configuration from the registry",
    "Thread exited normally",
    "Found 0 pending jobs",
    "Connection established",
    "Starting component thread",
    "Component thread finished",
    "Copy completed",
    "Inventory cycle started",
    "Cycle completed, 2 items processed",
    "Polling interval is 15 minutes",
    "Loading settings",
    "Settings loaded",
    "Timer fired",
    "Nothing to do",
)
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ZONES = ("Pacific Standard Time", "Eastern Standard Time", "GMT Standard Time")
SENTENCES = (
    'I get "{message}" when I start the client',
    "Error {message} after reboot",
    "after installing the service pack users see {message}",
    "getting '{message}' every time the service starts, any idea?",
    "The site server keeps logging {message} since yesterday",
    "{message} - what does this mean?",
)
USERS = ("jsmith", "admin2", "svc_sms", "mlopez", "tchen", "operator")
SERVER_NAMES = ("SRV01", "SMSPRI", "FS-02", "CORPDC1", "WKS0142", "SITESRV")


def random_time(rng: random.Random) -> tuple[int, int, int, int]:
    """Hours, minutes, seconds, milliseconds."""
    return rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999)


def vary(message: str, rng: random.Random) -> str:
    """The message as another machine would log it: its own drives, servers, site, numbers.

    Error codes stay (after "error", "code", "Win32 =" or as 0x...); counts, versions, IPs,
    dates, times, thread ids, GUIDs, user names and SMS inbox file names change.
    """
    text = DRIVE.sub(lambda m: rng.choice("CDEF") + ":\\", message)
    text = UNC.sub(lambda m: "\\\\" + rng.choice(SERVER_NAMES), text)
    text = re.sub(
        r"\b(site code|site|Site Code|Site code|Site|SITE)( )([A-Z0-9]{3})\b",
        lambda m: m.group(1) + m.group(2) + rng.choice(("A01", "NYC", "LN2", "P01")),
        text,
    )
    # IPs and versions in one pass, so a changed IP is not then changed again as a version.
    text = re.sub(r"\b\d+(\.\d+){2,3}\b", lambda m: dotted_value(m.group(0), rng), text)
    text = GUID.sub(lambda m: random_guid(rng, braces=m.group(0).startswith("{")), text)
    text = re.sub(
        r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
        lambda m: f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(98, 99)}",
        text,
    )
    text = re.sub(
        r"\b\d{1,2}:\d{2}:\d{2}\b",
        lambda m: "{:02d}:{:02d}:{:02d}".format(*random_time(rng)[:3]),
        text,
    )
    text = re.sub(
        r"\bthread=(0x)?[0-9A-Fa-f]+\b", lambda m: f"thread={rng.randint(100, 9999)}", text
    )
    # DOMAIN\user, but not a folder of a path (C:\SMS\inboxes: "SMS" follows a backslash).
    text = re.sub(
        r"(?<![\\:\w])([A-Z][A-Z0-9_-]{1,15})\\([A-Za-z][\w.-]{1,20})\b(?!\\)",
        lambda m: m.group(1) + "\\" + rng.choice(USERS),
        text,
    )
    text = re.sub(
        r"\b[A-Z0-9]{8}\.(MIF|SID|SIC|CT\d|NAL|SRQ|DDR|PKG|INS)\b",
        lambda m: (
            "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(8))
            + "."
            + m.group(1)
        ),
        text,
        flags=re.I,
    )
    # An article writes "<server name>" or <package_ID> where a log has a value.
    text = re.sub(
        r"(?<!<)<([A-Za-z][\w ]{1,30})>(?!>)",
        lambda m: placeholder_value(m.group(1), rng),
        text,
    )
    # Counts: a number before a counted noun changes from machine to machine.
    return re.sub(
        r"(?<![/\w.])\d+(?= (files?|bytes|records?|seconds|minutes|items?|objects?|machines?|clients?)\b)",
        lambda m: str(rng.randint(2, 5000)),
        text,
    )


def dotted_value(dotted: str, rng: random.Random) -> str:
    """Another IP address for an IP address (four parts up to 255), else another version."""
    parts = dotted.split(".")
    if len(parts) == 4 and all(len(p) <= 3 and int(p) <= 255 for p in parts):
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return ".".join(str(rng.randint(1, 3000)) for _ in parts)


def placeholder_value(name: str, rng: random.Random) -> str:
    """What a log has where the article wrote <name>: a server, an address or an id."""
    lowered = name.lower()
    if lowered in ("unknown", "none", "null", "empty", "default"):
        return f"<{name}>"  # programs print these words in brackets themselves
    if "serv" in lowered or "computer" in lowered or "machine" in lowered:
        return rng.choice(SERVER_NAMES)
    if lowered in ("x", "xx", "xxx", "yyy", "address", "addr") or "address" in lowered:
        return f"0x{rng.randint(0x10000, 0x7FFFFFFF):08x}"
    return random_id(rng)


def random_id(rng: random.Random) -> str:
    """An SMS-style id: a site code and a number ("NYC00042")."""
    return rng.choice(("NYC", "A01", "LN2", "P01")) + f"{rng.randint(1, 99999):05d}"


def random_guid(rng: random.Random, braces: bool) -> str:
    """A GUID in registry form."""
    digits = "".join(rng.choice("0123456789ABCDEF") for _ in range(32))
    guid = f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
    return "{" + guid + "}" if braces else guid


class LogFormat:
    """One log format, with the clock of one paste moving forward line by line."""

    STYLES = ("sms2", "sms1", "cmtrace", "timestamped", "bare")

    def __init__(self, rng: random.Random, component: str | None = None) -> None:
        self.rng = rng
        self.style = rng.choice(self.STYLES)
        self.component = component or (
            rng.choice(CMTRACE_COMPONENTS)
            if self.style == "cmtrace"
            else rng.choice(SMS_COMPONENTS)
        )
        self.year = rng.randint(1998, 2008)
        self.month = rng.randint(1, 12)
        self.day = rng.randint(1, 28)
        self.seconds = rng.randint(0, 86_000)
        self.thread = rng.randint(100, 6000)
        self.zone = rng.choice(ZONES)
        self.weekday = rng.choice(DAYS)

    def line(self, message: str) -> str:
        """`message` as a line of this format, a little later than the previous line."""
        self.seconds = (self.seconds + self.rng.randint(0, 90)) % 86_400
        hour, minute, second = self.seconds // 3600, self.seconds // 60 % 60, self.seconds % 60
        millis = self.rng.randint(0, 999)
        if self.style == "sms2":
            return (
                f"{message}  $$<{self.component}><{self.weekday} {MONTHS[self.month - 1]}"
                f" {self.day:02d} {hour:02d}:{minute:02d}:{second:02d}.{millis:03d} {self.year}"
                f" {self.zone}><thread={self.thread} (0x{self.thread:X})>"
            )
        if self.style == "sms1":
            return (
                f"{message}~  $$<{self.component}><{self.month:02d}/{self.day:02d}/{self.year % 100:02d}"
                f" {hour:02d}:{minute:02d}:{second:02d}~><thread={self.thread:X}>"
            )
        if self.style == "cmtrace":
            return (
                f'<![LOG[{message}]LOG]!><time="{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}+480"'
                f' date="{self.month:02d}-{self.day:02d}-{self.year}" component="{self.component}"'
                f' context="" type="1" thread="{self.thread}" file="{self.component.lower()}.cpp:'
                f'{self.rng.randint(10, 2000)}">'
            )
        if self.style == "timestamped":
            return (
                f"{self.year}-{self.month:02d}-{self.day:02d} {hour:02d}:{minute:02d}:{second:02d}"
                f" {message}"
            )
        return message


def noise_line(rng: random.Random) -> str:
    """A routine line that says nothing about any issue."""
    line = rng.choice(NOISE)
    return re.sub(r"\d+", lambda m: str(rng.randint(1, 120)), line)


def log_paste(
    messages: list[str], rng: random.Random, component: str | None, varied: bool = False
) -> str:
    """The messages in one random log format, among 2-10 noise lines; varied unless `varied`."""
    log_format = LogFormat(rng, component)
    body: list[str | None] = [None] * len(messages)
    for _ in range(rng.randint(2, 10)):
        body.insert(rng.randint(0, len(body)), noise_line(rng))
    lines = []
    pending = iter(messages)
    for entry in body:
        if entry is None:
            message = next(pending)
            entry = message if varied else vary(message, rng)
        lines.append(log_format.line(entry))
    return "\n".join(lines)


def misspell(text: str, rng: random.Random) -> str:
    """`text` with one word of 5+ letters changed by one edit: drop, swap, double or replace."""
    # Whole words only: \b does not split SMS_SITE_SERVER, so identifiers stay as they are.
    words = list(re.finditer(r"\b[A-Za-z]{5,}\b", text))
    if not words:
        return text
    word = rng.choice(words)
    letters = word.group(0)
    for _ in range(20):
        at = rng.randint(1, len(letters) - 2)
        edit = rng.choice(("drop", "swap", "double", "replace"))
        if edit == "drop":
            changed = letters[:at] + letters[at + 1 :]
        elif edit == "swap":
            changed = letters[:at] + letters[at + 1] + letters[at] + letters[at + 2 :]
        elif edit == "double":
            changed = letters[: at + 1] + letters[at] + letters[at + 1 :]
        else:
            replacement = rng.choice(string.ascii_lowercase)
            changed = letters[:at] + replacement + letters[at + 1 :]
        if changed != letters:
            return text[: word.start()] + changed + text[word.end() :]
    return text


def sentence_paste(message: str, rng: random.Random) -> str:
    """A short message inside a sentence a person writes in a ticket."""
    return rng.choice(SENTENCES).format(message=vary(message.rstrip("."), rng))


# ---------------------------------------------------------------------------------------------
# The query set


@dataclass
class Corpus:
    """What the generator keeps of an archive: quoted lines per article and all article text."""

    quoted: dict[str, list[Quoted]]
    texts: dict[str, str]

    def containing(self, message_sets: list[list[str]]) -> list[list[str]]:
        """For each list of messages, the articles whose text contains any of them.

        One pass over the texts finds the articles holding each message's longest word; only
        those are searched for the whole message, so 60k articles x 1,000 queries stays quick.
        """
        needles = {normal_form(m) for messages in message_sets for m in messages}
        key_of = {needle: max(needle.split(), key=len, default="") for needle in needles}
        keys = set(key_of.values())
        holding: dict[str, list[str]] = defaultdict(list)
        for article_id, text in self.texts.items():
            for word in keys.intersection(text.split()):
                holding[word].append(article_id)
        found_in = {
            needle: {aid for aid in holding[key] if needle in self.texts[aid]}
            for needle, key in key_of.items()
        }
        answers = []
        for messages in message_sets:
            found: set[str] = set()
            for message in messages:
                found |= found_in[normal_form(message)]
            answers.append(sorted(found, key=int))
        return answers


def load_corpus(articles: Iterable[Article]) -> Corpus:
    """Quoted lines of every article, boilerplate (quoted by > 20 articles) removed."""
    quoted: dict[str, list[Quoted]] = {}
    texts: dict[str, str] = {}
    seen_in: Counter[str] = Counter()
    for article in articles:
        lines = quoted_lines(article)
        texts[article.article_id] = article_text(article)
        quoted[article.article_id] = lines
        seen_in.update({normal_form(q.text) for q in lines})
    for article_id, lines in quoted.items():
        quoted[article_id] = [
            q for q in lines if seen_in[normal_form(q.text)] <= BOILERPLATE_ARTICLES
        ]
    return Corpus({k: v for k, v in quoted.items() if v}, texts)


def build_queries(corpus: Corpus, count: int, seed: int) -> list[Query]:
    """About `count` queries, spread evenly over the kinds, from articles picked at random.

    Each article gives at most one query per kind. A query whose own article does not contain
    its message in our normal form (a quote broken by a heading, say) proves nothing: dropped.
    """
    rng = random.Random(seed)
    per_kind = max(1, count // len(KINDS))
    article_ids = sorted(corpus.quoted, key=int)
    candidates: list[Query] = []
    for kind in KINDS:
        order = article_ids[:]
        rng.shuffle(order)
        made = 0
        # A few spare candidates cover the ones dropped below.
        for article_id in order:
            if made >= per_kind + per_kind // 5 + 5:
                break
            query = make_query(kind, article_id, corpus.quoted[article_id], rng)
            if query is not None:
                candidates.append(query)
                made += 1
    for query, correct in zip(
        candidates, corpus.containing([q.messages for q in candidates]), strict=True
    ):
        query.correct = correct
    queries: list[Query] = []
    kept: Counter[str] = Counter()
    for query in candidates:
        # A message that many articles contain is boilerplate too: any answer would do.
        plausible = query.article_id in query.correct and len(query.correct) <= BOILERPLATE_ARTICLES
        if plausible and kept[query.kind] < per_kind:
            queries.append(query)
            kept[query.kind] += 1
    return queries


def make_query(kind: str, article_id: str, lines: list[Quoted], rng: random.Random) -> Query | None:
    """One query of `kind` from an article's quoted lines, or None when it has none that fit."""
    half = half_of(article_id)
    if kind == "log":
        start = rng.randrange(len(lines))
        chosen = lines[start : start + rng.randint(1, 3)]
        messages = [q.text for q in chosen]
        paste = log_paste(messages, rng, chosen[0].component)
        return Query(kind, article_id, half, paste, [], messages)
    if kind == "single":
        quoted = rng.choice(lines)
        return Query(kind, article_id, half, vary(quoted.text, rng), [], [quoted.text], True)
    if kind == "sentence":
        short = [q for q in lines if len(q.text) <= 100]
        if not short:
            return None
        quoted = rng.choice(short)
        return Query(kind, article_id, half, sentence_paste(quoted.text, rng), [], [quoted.text])
    if kind == "typo":
        quoted = rng.choice(lines)
        if not re.search(r"\b[A-Za-z]{5,}\b", quoted.text):
            return None
        typo = misspell(vary(quoted.text, rng), rng)
        if rng.random() < 0.5:
            return Query(kind, article_id, half, typo, [], [quoted.text], True)
        paste = log_paste([typo], rng, quoted.component, varied=True)
        return Query(kind, article_id, half, paste, [], [quoted.text])
    if kind == "wrapped":
        wrapped = [q for q in lines if q.wrapped]
        if not wrapped:
            return None
        quoted = rng.choice(wrapped)
        return Query(kind, article_id, half, vary(quoted.text, rng), [], [quoted.text], True)
    raise ValueError(f"unknown kind {kind}")


def by_half_and_kind(queries: Iterable[Query]) -> dict[tuple[str, str], list[Query]]:
    """Queries grouped by (half, kind)."""
    groups: dict[tuple[str, str], list[Query]] = defaultdict(list)
    for query in queries:
        groups[(query.half, query.kind)].append(query)
    return groups

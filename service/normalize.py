"""Reading pasted logs: splitting into log records, and normalising each message.

One parser and one normaliser serve both sides of a match: symptom lines are run through
`parse_line` and `normalize` when they are indexed, and pasted lines when they are read, so a
rule added here applies to both at once.

Every pattern applied to pasted text takes time linear in the text: a paste's lines are cut to
the configured length before any pattern runs (`parse_paste`), messages to MAX_MESSAGE_CHARS
before normalising, and no pattern can try a run of characters again from each of its positions
(where a search could start inside a run, a look-behind or an anchor keeps it at the run's start;
where a run could be split between two quantifiers, one of them is possessive).
tests/test_parse_cost.py holds each of them to that on long adversarial runs.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

from service import budget
from service.stop_words import SIGNATURE_STOP_WORDS

MAX_MESSAGE_CHARS = 2_000


# -- line formats ---------------------------------------------------------------------------

# message  $$<Component><Thu Jul 26 14:22:53.512 2001 Pacific Standard Time><thread=1600 (0x640)>
# Matched at the line's last "$$<" (the trailer holds no other): searched for from every
# position, a leading \s* would scan a long run of spaces once per space.
SMS_TRAILER = re.compile(r"\$\$<([^<>]*)><([^<>]*)><thread=[^<>]*>\s*$")
SMS_TRAILER_START = "$$<"
# <![LOG[message]LOG]!><time="..." date="..." component="..." ... file="...">
CMTRACE_START = "<![LOG["
CMTRACE_END = "]LOG]!>"
# A name starts where a word does: tried from inside a long word, \w+ would scan it again
# from each of its letters.
CMTRACE_ATTR = re.compile(r'(?<!\w)(\w+)="([^"]*)"')
# "...  CCIM32": a component name after two or more spaces at the end of the line
COMPONENT_SUFFIX = re.compile(r"^(.*?\S)\s{2,}([A-Z][A-Z0-9_]{2,31})\s*$")
# The characters such a name ends with.
COMPONENT_END = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
LEADING_TIMESTAMP = re.compile(
    r"^\s*\[?(?:"
    r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}[ ,]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?[AP]M)?"
    r"|[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}"
    r"|\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
    r")\]?\s*(?:[-|:]\s+)?"
)
# "Ccim32.log:" alone on a line (matched whole once the line is stripped): the log the lines
# below come from. It starts where a run of name characters does, and the possessive \s*+
# never hands spaces back to be tried again.
LOG_FILE_HEADER = re.compile(
    r"(?<![A-Za-z0-9_.\- ])([A-Za-z0-9_.\- ]{1,80}?\.log)(?:\s*+:)?", re.IGNORECASE
)


@dataclass
class LogLine:
    """One log record read from a paste: where it was, what it said, what wrote it."""

    number: int
    raw: str
    message: str
    format: str
    component: str | None = None
    log_file: str | None = None
    is_header: bool = False


@dataclass
class ParsedPaste:
    lines: list[LogLine]
    format: str
    physical_lines: int
    log_files: list[str] = field(default_factory=list)
    # Numbers of the lines (or joined records) cut to the line length limit.
    truncated: list[int] = field(default_factory=list)


def parse_line(text: str) -> tuple[str, str | None, str]:
    """Split one physical line into (message, component, format name)."""
    line = text.rstrip("\r\n")
    if CMTRACE_START in line and CMTRACE_END in line:
        start = line.index(CMTRACE_START) + len(CMTRACE_START)
        end = line.index(CMTRACE_END, start) if CMTRACE_END in line[start:] else len(line)
        attrs = dict(CMTRACE_ATTR.findall(line[end:]))
        return line[start:end].strip(), attrs.get("component") or None, "cmtrace"
    start = line.rfind(SMS_TRAILER_START)
    trailer = SMS_TRAILER.match(line, start) if start >= 0 else None
    if trailer:
        message = line[:start].rstrip()
        stamp = trailer.group(2)
        if stamp.endswith("~"):
            kind = "sms1"
        elif re.match(r"^\d{2}-\d{2}-\d{4}", stamp):
            kind = "configmgr"
        else:
            kind = "sms2"
        suffix = COMPONENT_SUFFIX.match(message)
        if suffix:
            message = suffix.group(1)
        return message.rstrip("~ \t"), trailer.group(1).strip() or None, kind
    stamp = LEADING_TIMESTAMP.match(line)
    kind = "plain"
    if stamp and stamp.end() < len(line):
        line = line[stamp.end() :]
        kind = "timestamped"
    suffix = COMPONENT_SUFFIX.match(line) if _may_end_in_component(line) else None
    if suffix:
        return suffix.group(1).rstrip("~ \t"), suffix.group(2), kind
    return line.strip().rstrip("~ \t").strip(), None, kind


def _may_end_in_component(line: str) -> bool:
    """Whether COMPONENT_SUFFIX could match: the line's last visible character is one a
    component name ends with. Most lines end otherwise, and the pattern scans the whole line."""
    return line.rstrip()[-1:] in COMPONENT_END


def physical_lines(text: str) -> list[str]:
    """The lines of a paste as they are numbered everywhere: split at CR LF, CR or LF only
    (not at the other breaks `str.splitlines` knows), the newline that ends the last line
    starting no line of its own."""
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if physical and physical[-1] == "":
        physical.pop()
    return physical


def parse_paste(
    text: str, max_lines: int | None = None, max_line_chars: int | None = None
) -> ParsedPaste:
    """Split a paste into log records: CMTrace records spanning lines are joined, headers noted.

    Lines longer than `max_line_chars` are cut to it before any pattern looks at them, and a
    record joined from several lines has its message cut the same way: what a line costs to
    read is then bounded by the limit, not by what a sender made of it. The numbers of the
    lines cut are in `truncated`.
    """
    physical = physical_lines(text)
    if max_lines is not None:
        physical = physical[:max_lines]
    records: list[LogLine] = []
    formats: Counter[str] = Counter()
    log_files: list[str] = []
    truncated: set[int] = set()
    current_file: str | None = None
    pending: list[str] = []
    pending_start = 0

    def cut(message: str, number: int) -> str:
        if max_line_chars is not None and len(message) > max_line_chars:
            truncated.add(number)
            return message[:max_line_chars]
        return message

    for number, raw in enumerate(physical, start=1):
        budget.check("reading the lines")
        raw = cut(raw, number)
        line = raw.replace("\t", " ")
        if pending:
            pending.append(line)
            if CMTRACE_END not in line:
                continue
            line = "\n".join(pending)
            number, pending = pending_start, []
        elif CMTRACE_START in line and CMTRACE_END not in line and number not in truncated:
            # (A line that was cut lost its end: it is read as it is, not joined to the next.)
            pending, pending_start = [line], number
            continue
        if not line.strip():
            continue
        header = _log_file_header(line)
        if header:
            current_file = header
            log_files.append(current_file)
            records.append(
                LogLine(number, raw, current_file, "header", log_file=current_file, is_header=True)
            )
            continue
        message, component, kind = parse_line(line)
        if kind == "cmtrace":
            attrs = dict(CMTRACE_ATTR.findall(line.rsplit(CMTRACE_END, 1)[-1]))
            source_file = attrs.get("file", "")
            if source_file:
                log_files.append(source_file)
        if not message:
            continue
        formats[kind] += 1
        records.append(LogLine(number, raw, cut(message, number), kind, component, current_file))
    if pending:
        message, component, kind = parse_line("\n".join(pending) + CMTRACE_END)
        if message:
            formats[kind] += 1
            records.append(
                LogLine(
                    pending_start,
                    pending[0],
                    cut(message, pending_start),
                    kind,
                    component,
                    current_file,
                )
            )
    recognised = [k for k, _ in formats.most_common() if k not in ("plain", "timestamped")]
    if recognised:
        paste_format = recognised[0]
    elif formats:
        paste_format = formats.most_common(1)[0][0]
    else:
        paste_format = "empty"
    return ParsedPaste(
        records,
        paste_format,
        len(physical),
        # Names alike but for case in one order whatever order a set gives them.
        sorted(set(log_files), key=lambda name: (name.lower(), name)),
        sorted(truncated),
    )


def _log_file_header(line: str) -> str | None:
    """The log file name a header line such as "Ccim32.log:" gives, or None."""
    if ".log" not in line.lower():
        return None
    header = LOG_FILE_HEADER.fullmatch(line.strip())
    return header.group(1).strip() if header else None


# -- normalising ----------------------------------------------------------------------------

GUID = re.compile(
    r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?"
)
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,10}://[^\s\"'<>]+")
EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+\b")
UNC_PATH = re.compile(r"\\\\[^\\\s\"'<>|()]+(?:\\[^\\\s\"'<>|()]*)*")
DRIVE_PATH = re.compile(r"\b[A-Za-z]:\\[^\s\"'<>|()]*")
# A path starts at the first word character of a run of path characters (where \b first holds
# in it); the run's leading dots, dollars and dashes (group 1) stay as they are. Anchored at the
# run's start, so a run of "a.a.a..." is not scanned again from each of its words.
RELATIVE_PATH = re.compile(r"(?<![\w.$-])([.$-]*+)(\w[\w.$-]*+(?:\\[\w.$-]++)+)")
UNIX_PATH = re.compile(r"(?<![\w.])/(?:[\w.-]+/)+[\w.-]*")
IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?::\d{1,5})?\b")
DATE = re.compile(r"\b\d{1,4}[-/]\d{1,2}[-/]\d{1,4}\b")
TIME = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:\s?[AaPp][Mm]\b)?")
VERSION = re.compile(r"\b[vV]?\d+(?:\.\d+){1,3}[a-zA-Z]?\b")
HEX = re.compile(r"\b0[xX]([0-9a-fA-F]{1,16})\b")
# Eight hex digits as a word of their own, 8 or C first. Written to start with the first
# digit, which the pattern engine can scan for, and to look back from it for a word character:
# the same matches as \b...\b, in half the time on lines without any.
BARE_HRESULT = re.compile(r"[8Cc](?<!\w[8Cc])[0-9A-Fa-f]{7}(?!\w)")
SIGNED_NUMBER = re.compile(r"(?<![\w.])-?\d{5,20}\b")
SITE_CODE = re.compile(
    r"\b((?i:sites?)(?i: codes?)?)\s+([A-Z0-9]{3})\b(?:\s*(?:,|and)\s*[A-Z0-9]{3}\b)*"
)
CAP_SHARE = re.compile(r"\b(CAP|SMS_SITE|SMS_CCM|SMS|SMSPKG)_([A-Z0-9]{3})\b", re.IGNORECASE)
HOST_AFTER_WORD = re.compile(
    r"\b(server|computer|machine|host|client|domain controller)\s+([A-Z][A-Z0-9_-]{2,})\b"
)
HOST_WORDS = ("server", "computer", "machine", "host", "client", "domain controller")
# Whether HOST_AFTER_WORD can match at all: one search instead of one per word.
HOST_WORD = re.compile("|".join(HOST_WORDS))
DIGIT = re.compile(r"\d")
ACCOUNT = re.compile(r"\b[A-Za-z][\w-]{0,30}\\[A-Za-z][\w.$-]{0,30}\b(?![\\.])")
# What articles write where a log has a value: <server name>, <Domain>, 0xXXXXXXXX, %1. In a
# paste the same spot holds a real value, which a slot lookup stands in for (article_text.py).
PLACEHOLDER = re.compile(r"<[A-Za-z][a-z][A-Za-z _-]{0,38}>|\b(?:0x)?[Xx]{4,}\b|%[1-9sd]\b")
TOKEN = re.compile(r"<[a-z]+>|[a-z0-9_]+(?:\.[a-z0-9_]+)*")
# Secrets and connection-string fields: the value after `password=`, `Pwd:`, `token=`,
# `User ID=`, `Data Source=`... is nobody's business and says nothing about the problem. An
# article's placeholder (`Password=<password>`) is left to the placeholder rule.
SECRET_VALUE = (
    r"[ \t]*(?!<)(?:\"[^\"]{0,200}\"|'[^']{0,200}'"
    r"|(?:bearer|basic)[ \t]+[^\s;,&]{1,400}|[^\s;,&<]{1,400})"
)
SECRET_FIELD = re.compile(
    r"(?i)\b(?:(password|passwd|pwd|passphrase|secret|client[_ ]?secret|token|access[_ ]?token"
    r"|api[_ ]?key|access[_ ]?key|account[_ ]?key|shared[_ ]?access[_ ]?key|authorization)"
    r"[ \t]*[=:]"
    r"|(user[_ ]?id|uid|data source|initial catalog|database|server|user[_ ]?name)[ \t]*=)"
    + SECRET_VALUE
)
REPEATED_PLACEHOLDER = re.compile(r"(<[a-z]+>)(?:[\s,;]*\1)+")


def canonical_hresult(value: int) -> str | None:
    """0x80070005 for any 32-bit spelling of a failure HRESULT (unsigned, signed or hex)."""
    if value < 0:
        value &= 0xFFFFFFFF
    if 0x80000000 <= value <= 0xFFFFFFFF:
        return f"0x{value:08x}"
    return None


@dataclass(frozen=True)
class NormalizedLine:
    """What a message reduces to once the instance data is taken out."""

    text: str
    signature: str
    terms: tuple[str, ...]
    codes: tuple[str, ...]


def _hex(match: re.Match[str]) -> str:
    value = int(match.group(1), 16)
    hresult = canonical_hresult(value)
    if hresult:
        return hresult
    # Small hex values are error codes (#0x5 is error 5); large ones are addresses and handles.
    return str(value) if value <= 0xFFFF else "<hex>"


def _signed(match: re.Match[str]) -> str:
    value = int(match.group(0))
    return canonical_hresult(value) or "<num>"


def _path(match: re.Match[str]) -> str:
    return _path_text(match.group(0))


def _relative_path(match: re.Match[str]) -> str:
    return match.group(1) + _path_text(match.group(2))


def _path_text(value: str) -> str:
    # The file a path ends in is evidence; the folders and drive in front of it are not.
    path = value.rstrip(".,;:")
    tail = value[len(path) :]
    name = re.split(r"[\\/]", path.rstrip("\\/"))[-1]
    if "." in name and not name.startswith(".") and name.rsplit(".", 1)[1].isalnum():
        return f" <path> {name}{tail}"
    return f" <path>{tail}"


def simplify(message: str) -> str:
    """The light form used for exact matches: case, spacing and trailing ~ do not count."""
    text = message[:MAX_MESSAGE_CHARS].strip().rstrip("~").strip()
    return " ".join(text.split()).lower()


# Logs repeat themselves: the same message comes back in paste after paste, so the result is
# kept. Bounded, and the lines are capped in length before they get here.
@functools.lru_cache(maxsize=20_000)
def normalize(message: str) -> NormalizedLine:
    """Replace instance data with placeholders; keep what identifies the problem."""
    collapsed = _signature_tokens(message)
    signature = " ".join(collapsed)
    terms = tuple(
        dict.fromkeys(t for t in collapsed if t[0] != "<" and t not in SIGNATURE_STOP_WORDS)
    )
    codes = tuple(dict.fromkeys(t for t in collapsed if t.startswith("0x") and len(t) == 10))
    return NormalizedLine(signature, signature, terms, codes)


def line_signature(message: str) -> str:
    """`normalize(message).signature` alone, without the terms and codes, and not kept:
    for the many lines of articles, each looked at once."""
    return " ".join(_signature_tokens(message))


def _signature_tokens(message: str) -> list[str]:
    """The tokens of a message once instance data is replaced by placeholders."""
    text = message[:MAX_MESSAGE_CHARS]
    if "<" in text or "%" in text or "xxxx" in text.lower():
        text = PLACEHOLDER.sub(_placeholder, text)
    # Each pattern runs only where the character it needs is present: most lines have no
    # path, address or number, and the checks cost far less than the patterns.
    if ("=" in text or ":" in text) and _may_name_a_secret(text):
        text = SECRET_FIELD.sub(_secret, text)
    if "-" in text:
        text = GUID.sub(" <guid> ", text)
    if "://" in text:
        text = URL.sub(" <url> ", text)
    if "@" in text:
        text = EMAIL.sub(" <email> ", text)
    if "\\" in text:
        text = UNC_PATH.sub(_path, text)
        text = DRIVE_PATH.sub(_path, text)
    if "/" in text:
        text = UNIX_PATH.sub(_path, text)
    if "_" in text:
        text = CAP_SHARE.sub(lambda m: f"{m.group(1)}_<site>", text)
    if "site" in text.lower():
        text = SITE_CODE.sub(lambda m: f"{m.group(1)} <site>", text)
    if HOST_WORD.search(text):
        text = HOST_AFTER_WORD.sub(lambda m: f"{m.group(1)} <host>", text)
    if "\\" in text:
        text = ACCOUNT.sub(_account_or_path, text)
        text = RELATIVE_PATH.sub(_relative_path, text)
    has_digit = DIGIT.search(text) is not None
    if has_digit:
        # Each pattern runs only where the separators it needs are: an address has three
        # dots, a version one, a date a dash or slash, a time a colon, hex an "0x".
        if text.count(".") >= 3:
            text = IPV4.sub(" <ip> ", text)
        if "." in text:
            text = VERSION.sub(" <version> ", text)
        if "-" in text or "/" in text:
            text = DATE.sub(" <date> ", text)
        if ":" in text:
            text = TIME.sub(" <time> ", text)
        if "0x" in text or "0X" in text:
            text = HEX.sub(_hex, text)
    hresults = BARE_HRESULT.sub(_bare_hresult, text)
    if hresults != text:
        # An HRESULT written out brings digits of its own.
        text, has_digit = hresults, True
    if has_digit:
        text = SIGNED_NUMBER.sub(_signed, text)
    text = text.lower()
    if "<" not in text:
        # No placeholder, so no token to collapse: the most common line, and the cheapest.
        collapsed = TOKEN.findall(text)
    else:
        text = REPEATED_PLACEHOLDER.sub(r"\1", text)
        collapsed = []
        for token in TOKEN.findall(text):
            # A variable part longer in one copy (more path segments, more site codes) is one
            # slot.
            if token[0] == "<" and collapsed and collapsed[-1] == token:
                continue
            collapsed.append(token)
    # A date or time in front says when, not what: one log writes it, another does not.
    while len(collapsed) > 1 and collapsed[0] in ("<date>", "<time>"):
        collapsed.pop(0)
    return collapsed


# What every field name of SECRET_FIELD has in it, lowercased.
SECRET_HINTS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "authorization",
    "user",
    "uid",
    "data source",
    "catalog",
    "database",
    "server",
)

# Any of them, looked for in one pass over the lowercased text.
SECRET_HINT = re.compile("|".join(map(re.escape, SECRET_HINTS)))


def _may_name_a_secret(text: str) -> bool:
    """Whether SECRET_FIELD could match: a field name is in the text. Checked only on ASCII
    text, where lowercasing is what the pattern's case-insensitivity is; other text is left to
    the pattern."""
    if not text.isascii():
        return True
    return SECRET_HINT.search(text.lower()) is not None


def _placeholder(match: re.Match[str]) -> str:
    # Inside a path (\\<server>\share, <folder>\..\setup) the placeholder is a segment of
    # it: kept as one, the path is normalised whole, as the real path of a log is.
    text, start, end = match.string, match.start(), match.end()
    if (
        text[start - 1 : start] == "\\"
        or text[end : end + 1] == "\\"
        or text[end : end + 2] == ":\\"
    ):
        return "x"
    return " <x> "


def _bare_hresult(match: re.Match[str]) -> str:
    return canonical_hresult(int(match.group(0), 16)) or match.group(0)


def _secret(match: re.Match[str]) -> str:
    return f" {match.group(1) or match.group(2)} <secret> "


def _account_or_path(match: re.Match[str]) -> str:
    value = match.group(0)
    name = value.rsplit("\\", 1)[-1]
    if "." in name:
        return _path(match)
    return " <account> "


def signature_key(signature: str) -> str:
    """A fixed-length key for an index term: signatures can be long."""
    return hashlib.blake2b(signature.encode("utf-8"), digest_size=10).hexdigest()


# A label and a short value ("Computer Name: WKS0142", "Service Pack = 2"), a banner between
# rules ("*----> Task List <----*") or a process list entry ("  412 svchost.exe"): lines that
# say what a machine is or where a report's section starts, written alike in every report of
# their format, whatever went wrong.
# The label is tried at each length ending in a letter only, and the spaces after it are taken
# whole (possessive): a label could otherwise end at any of 40 spaces and rescan those after it.
PROPERTY_LINE = re.compile(r"^\s*+([A-Za-z](?:[A-Za-z ]{0,39}?[A-Za-z])??)\s*+[:=]\s*+(\S.{0,60})$")
# Spaces are \W: the possessive runs take them all at once rather than share them out with a
# \s* in every possible way (quadratic in a long run of spaces).
BANNER_LINE = re.compile(r"^\W{2,}+[A-Za-z][A-Za-z ]{0,40}?\W{2,}+$")
PROCESS_LINE = re.compile(r"^\s*\d+\s+[\w.-]+\.exe\s*$", re.IGNORECASE)
FAILURE_WORDS = re.compile(
    r"\b(error|errors|fail|failed|fails|failure|cannot|can't|unable|denied|invalid|not|"
    r"exception|fatal|stop|abort|aborted|warning|corrupt|corrupted|missing|timeout|timed|"
    # a status or a code is what a report is read for
    r"code|status|result|return|returned|hresult|hr|0x[0-9a-f]+)\b",
    re.IGNORECASE,
)


def reports_problem(message: str) -> bool:
    """Whether a line says something went wrong (or gives a status or code to read), rather
    than that a process went about its routine ("Sleeping for 60 seconds")."""
    return bool(FAILURE_WORDS.search(message[:MAX_MESSAGE_CHARS]))


def is_descriptive(message: str) -> bool:
    """A line that describes rather than reports: a property and its value, a banner, a
    process list entry. Logs of one format all have them, so they tell no problem apart."""
    text = message[:MAX_MESSAGE_CHARS]
    if FAILURE_WORDS.search(text):
        return False
    if BANNER_LINE.match(text) or PROCESS_LINE.match(text):
        return True
    prop = PROPERTY_LINE.match(text)
    # A label of words (not a message number such as C4127) and a value of a few words.
    return bool(prop) and len(prop.group(1).split()) <= 3 and len(prop.group(2).split()) <= 3


def looks_like_prose(message: str) -> bool:
    """A sentence a person wrote, not a machine: mostly words, few symbols."""
    words = message.split()
    if len(words) < 5:
        return False
    alpha = sum(1 for w in words if w.isalpha())
    return alpha / len(words) >= 0.6

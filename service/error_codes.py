"""Error codes in a log line, named and explained: Win32, NET, NTSTATUS, HRESULT, stop codes
and SMS status message IDs.

The names and meanings are data (`data/error_codes.tsv`, which says where they come from); this
module finds the codes a line reports and looks them up. A number counts as a code only where
the line says it is one ("Win32 Error: 5", "error 2186", "returned 123", "(#0x5)", "STOP
0x0000007B", "status message 10006") or where its shape says so (an 8-digit HRESULT or NTSTATUS,
a negative HRESULT); a count or a port number elsewhere in the line is left alone.

Decoding is for the people reading an answer: nothing here feeds matching or ranking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

KINDS = ("win32", "net", "ntstatus", "hresult", "bugcheck", "sms")
# The LAN Manager errors (lmerr.h) take these numbers; a few Win32 errors share them.
NET_RANGE = range(2100, 3000)
FACILITY_WIN32 = 0x8007_0000
# HRESULT_FROM_NT: an NTSTATUS with the customer bit set, as COM reports it.
FACILITY_NT_BIT = 0x1000_0000

# Each alternative starts at a keyword or at "0x"/"-"/"(#", and every repeat is bounded: one
# pass over the line, whatever it holds. The lookahead in front lets the many positions where
# no alternative can start fail at once (lines are read lower-cased).
CODE_PATTERN = (
    r"(?:(?<!\w)(?=[sbmwneghlr08c-])|(?=\())"
    r"(?:(?P<stop>\b(?:stop|bug ?check(?: code)?)[ \t]{0,3}:?[ \t]{0,3}"
    r"(?P<stop_code>0x[0-9a-f]{1,8}|[0-9a-f]{8})\b)"
    r"|(?P<sms>\b(?:status message(?: id)?|message id)[ \t]{0,3}[:#=]?[ \t]{0,3}"
    r"(?P<sms_code>\d{4,5})\b)"
    r"|(?P<keyed>\b(?P<keyword>win32 error|system error|net helpmsg|error code|error|"
    r"hresult|hr|getlasterror\(\)|last ?error|return code|return value|returned)"
    # a separator after the word: "Error32.exe" is a file name
    r"(?=[ \t:=#])[ \t]{0,3}(?:[:=#]|is\b)?[ \t]{0,3}"
    r"(?P<keyed_code>0x[0-9a-f]{1,8}|[8c][0-9a-f]{7}|-?\d{1,10})\b)"
    r"|(?P<hash>\(#(?P<hash_code>0x[0-9a-f]{1,8}|\d{1,5})\))"
    r"|(?P<hex>(?<![\w#])(?P<hex_code>0x[0-9a-f]{8})\b)"
    # An HRESULT or NTSTATUS written without its 0x (80070005), but not a GUID's first part.
    r"|(?P<bare>(?<![\w.-])(?P<bare_code>[8c][0-9a-f]{7})\b(?!-))"
    r"|(?P<signed>(?<![\w.-])(?P<signed_code>-2\d{9})\b))"
)
CODE = re.compile(CODE_PATTERN)
# For the rare line that lower-casing would change in length (it is not ASCII).
CODE_ANY_CASE = re.compile(CODE_PATTERN, re.IGNORECASE)
DIGIT = re.compile(r"\d")
# "returned 5 items": a count, not a code.
COUNTED = re.compile(r"[ \t]+[a-z]")
RETURNED = ("returned", "return value")
# "hr" and "hresult" name 32-bit codes; "1 hr 5 min" is a duration.
HRESULT_WORDS = ("hr", "hresult")


@dataclass(frozen=True)
class ErrorCode:
    """A code as a line writes it, with what it is."""

    code: str
    kind: str
    name: str | None
    meaning: str | None
    # The same code however it is written (5, 0x5, #0x5): to list it once.
    key: tuple[str, int]

    def as_dict(self) -> dict[str, str | None]:
        """The answer's shape: the code as written, its kind, name and meaning."""
        return {"code": self.code, "kind": self.kind, "name": self.name, "meaning": self.meaning}


@cache
def table() -> dict[tuple[str, int], tuple[str, str]]:
    """(kind, value) -> (name, meaning), read once from the package's data file."""
    text = resources.files("service").joinpath("data/error_codes.tsv").read_text("utf-8")
    rows: dict[tuple[str, int], tuple[str, str]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, code, name, meaning = line.split("\t")
        rows[(kind, int(code, 0))] = (name, meaning)
    return rows


def find_codes(line: str) -> tuple[ErrorCode, ...]:
    """The codes `line` reports, in the order it says them, each once."""
    found: dict[tuple[str, int], ErrorCode] = {}
    if not DIGIT.search(line):
        return ()
    # Matched lower-cased (faster than ignoring case); codes are cut from the line as written.
    matches = CODE.finditer(line.lower()) if line.isascii() else CODE_ANY_CASE.finditer(line)
    for match in matches:
        code = _decode(match, line)
        if code is not None and code.key not in found:
            found[code.key] = code
    return tuple(found.values())


def _decode(match: re.Match[str], line: str) -> ErrorCode | None:
    def written(group: str) -> str:
        return line[match.start(group) : match.end(group)]

    if match.group("stop"):
        return _stop_code(written("stop_code"))
    if match.group("sms"):
        return _known("sms", written("sms_code"), int(match.group("sms_code")))
    if match.group("keyed"):
        code = written("keyed_code")
        keyword = match.group("keyword").lower()
        if keyword in RETURNED and COUNTED.match(line, match.end()):
            return None
        if keyword in HRESULT_WORDS and _value(code) <= 0xFFFF:
            return None
        return _number(code)
    if match.group("hash"):
        return _number(written("hash_code"))
    group = next(g for g in ("hex_code", "bare_code", "signed_code") if match.group(g))
    code = written(group)
    return _long_code(code, _value(code), named=False)


def _value(written: str) -> int:
    """The unsigned 32-bit value of a code written in decimal, in hex, or as 8 bare hex
    digits (an 8-digit number starting with 8 or C is an HRESULT or NTSTATUS, not a count)."""
    if len(written) == 8 and written[0] in "8cC":
        return int(written, 16)
    return int(written, 0) & 0xFFFF_FFFF


def _number(written: str) -> ErrorCode | None:
    """A code the line names as one: a Win32 or NET error, or a long code written after
    "error"."""
    value = _value(written)
    if value > 0xFFFF:
        return _long_code(written, value, named=True)
    if value in NET_RANGE and ("net", value) in table():
        return _known("net", written, value)
    return _known("win32", written, value)


def _long_code(written: str, value: int, named: bool) -> ErrorCode | None:
    """A 32-bit code: its top bits say whether it is an NTSTATUS or an HRESULT. One the list
    does not know is shown only where the line calls it an error (`named`): a bare 0xF741B84C
    is as likely an address."""
    severity = value >> 28
    if severity == 0xC:
        kind = "ntstatus"
        row = table().get((kind, value))
    elif severity == 0xD:
        kind = "hresult"
        row = _wrapped(table().get(("ntstatus", value & ~FACILITY_NT_BIT)), "an NTSTATUS")
    elif severity & 0x8:
        kind = "hresult"
        row = table().get((kind, value))
        if row is None and value & 0xFFFF_0000 == FACILITY_WIN32:
            win32 = value & 0xFFFF
            row = _wrapped(table().get(("win32", win32)), f"Win32 error {win32}")
    else:
        return None
    if row is None and not named:
        return None
    name, meaning = row or (None, None)
    return ErrorCode(written, kind, name, meaning, (kind, value))


def _wrapped(row: tuple[str, str] | None, what: str) -> tuple[str, str] | None:
    """The name and meaning of a code another one wraps, saying so."""
    if row is None:
        return None
    return row[0], f"{row[1].rstrip('.')} ({what} as an HRESULT)."


def _stop_code(written: str) -> ErrorCode:
    """A blue screen's stop code: a bug check code, or an NTSTATUS used as one."""
    value = int(written, 16)
    name, meaning = table().get(("bugcheck", value)) or table().get(
        ("ntstatus", value), (None, None)
    )
    return ErrorCode(written, "bugcheck", name, meaning, ("bugcheck", value))


def _known(kind: str, written: str, value: int) -> ErrorCode | None:
    """A listed code, or nothing: a bare number not in the list is as likely a count."""
    row = table().get((kind, value))
    return ErrorCode(written, kind, *row, (kind, value)) if row else None

"""Bytes to text, one way for everything the service reads: pastes, uploads and article files.

Only the charsets of CHARSETS are ever decoded, so a client cannot pick a codec that runs in
quadratic time or is not a text encoding at all.
"""

from __future__ import annotations

import codecs

# The old KB archives are Windows text, written in the ANSI code page: an article file that is
# not UTF-8 is read in it, by `kb import` and `POST /v1/articles/import` alike.
ARCHIVE_CHARSET = "cp1252"


class DecodeError(ValueError):
    """The body is not text in any encoding we can recognise."""

    def __init__(self, offset: int, encoding: str) -> None:
        super().__init__(f"byte {offset} is not valid {encoding}")
        self.offset = offset
        self.encoding = encoding


# The charsets a paste may be sent in: what Windows tools and editors write (UTF-8, UTF-16 and
# UTF-32 with or without a BOM, the ANSI code page 1252 and ISO 8859-1, the OEM code pages 437
# and 850, and Shift_JIS). Labels are compared with case and punctuation left out. Nothing
# else is decoded: a label must not choose any codec Python has (punycode and idna decode in
# quadratic time or fail in their own ways, and some "codecs" are not text encodings at all).
CHARSETS = {
    "utf8": "utf-8",
    # ASCII is a part of UTF-8; a client that says us-ascii often sends UTF-8 anyway.
    "usascii": "utf-8",
    "ascii": "utf-8",
    "utf16": "utf-16",
    "utf16le": "utf-16-le",
    "utf16be": "utf-16-be",
    "utf32": "utf-32",
    "utf32le": "utf-32-le",
    "utf32be": "utf-32-be",
    "windows1252": "cp1252",
    "cp1252": "cp1252",
    "xcp1252": "cp1252",
    "iso88591": "latin-1",
    "latin1": "latin-1",
    "l1": "latin-1",
    "ibm437": "cp437",
    "cp437": "cp437",
    "437": "cp437",
    "ibm850": "cp850",
    "cp850": "cp850",
    "850": "cp850",
    "shiftjis": "shift_jis",
    "sjis": "shift_jis",
    "xsjis": "shift_jis",
}
CHARSET_NAMES = (
    "UTF-8, UTF-16, UTF-16LE, UTF-16BE, UTF-32, UTF-32LE, UTF-32BE, US-ASCII, windows-1252, "
    "ISO-8859-1, IBM437, IBM850 and Shift_JIS"
)


class UnsupportedCharset(ValueError):
    """The body is declared in a charset that pastes may not be sent in (see CHARSETS)."""

    def __init__(self, charset: str) -> None:
        # Shown back to the sender: a header can be long.
        self.charset = charset if len(charset) <= 40 else charset[:40] + "..."
        super().__init__(f"the charset {self.charset!r} is not accepted")


def charset_codec(charset: str) -> str:
    """The codec for a declared charset label, or `UnsupportedCharset` if it is not allowed."""
    codec = CHARSETS.get("".join(ch for ch in charset.lower() if ch.isalnum()))
    if codec is None:
        raise UnsupportedCharset(charset.strip())
    return codec


def decode_text(body: bytes, charset: str | None = None, fallback: str | None = None) -> str:
    """Decode a pasted log or an article file: a BOM wins, then the declared charset, then UTF-8
    (or UTF-16 or UTF-32 sniffed). A declared charset must be one of CHARSETS
    (`UnsupportedCharset`). Undeclared text that is not UTF-8 is read in `fallback` when one is
    given (the archives are Windows text: cp1252), and is a `DecodeError` otherwise."""
    encoding = charset_codec(charset) if charset and charset.strip() else None
    if body.startswith(codecs.BOM_UTF8):
        body, encoding = body[len(codecs.BOM_UTF8) :], "utf-8"
    elif body.startswith(codecs.BOM_UTF32_LE) or body.startswith(codecs.BOM_UTF32_BE):
        # Before UTF-16: the UTF-32 little-endian BOM starts with the UTF-16 one.
        encoding = "utf-32"
    elif body.startswith(codecs.BOM_UTF16_LE) or body.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    elif encoding in ("utf-16", "utf-32") or (
        encoding is None and len(body) >= 4 and body.count(b"\x00") > len(body) // 4
    ):
        # Windows tools write UTF-16 (now and then UTF-32) without a BOM too: ASCII text in it
        # is half (three quarters) NULs, which also tell the byte order.
        encoding = _unmarked_byte_order(body, encoding)
    try:
        return body.decode(encoding or "utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        if fallback and not (charset and charset.strip()):
            return body.decode(fallback, errors="replace")
        raise DecodeError(exc.start, encoding or "utf-8") from None


def _unmarked_byte_order(body: bytes, declared: str | None) -> str:
    """UTF-16 or UTF-32 without a BOM (`declared`, or sniffed when None) in its byte order: the
    NULs of an ASCII letter follow it in little-endian order and come before it in big-endian."""
    if declared == "utf-32" or (declared is None and b"\x00\x00\x00" in (body[:3], body[1:4])):
        return "utf-32-be" if body[:2] == b"\x00\x00" else "utf-32-le"
    return "utf-16-be" if body[:1] == b"\x00" and body[1:2] != b"\x00" else "utf-16-le"

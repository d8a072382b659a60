"""A search hit's snippet on PostgreSQL: the words around the first place the query's words are
said, those words in bold.

Made here rather than by `ts_headline`, which parses and stems every word of the text it is
given inside the database: about half of what a search cost PostgreSQL, for the ten articles a
search shows. Here only the words that may be the query's are stemmed. Words are runs of
letters and digits, as the search index reads them (`copylog.tcf` is `copylog` and `tcf`), and
a word is the query's when its English stem is one of the query words' stems, as PostgreSQL's
`kb_english` configuration (Snowball English, no stop words) matches them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import islice

from whoosh.lang.snowball.english import EnglishStemmer

# Words a snippet shows at most, and when the text says none of the query's words (the title
# did), how many of its first words stand for it.
MAX_WORDS = 24
MIN_WORDS = 12
# Words shown before the first bold one, so it is read in its sentence.
LEAD_WORDS = 4
# How far into a text its first match is looked for: anyone may search, with words chosen so
# that every word of a long text is a candidate to stem, and a search shows up to 50 hits.
# Past this a hit's snippet is its start. The longest SMS article is 170,000 characters;
# nearly all are under 10,000.
SCAN_CHARS = 20_000
START, STOP = "**", "**"

WORD = re.compile(r"[^\W_]+")
_stemmer = EnglishStemmer()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """The word's Snowball English stem, lower case."""
    return _stemmer.stem(word.lower())


def snippet(text: str, words: list[str]) -> str:
    """The part of `text` around the first of `words` it says, each of them in bold.

    Up to MAX_WORDS words, starting a few words before the first match and taking in as many
    of the query's words as fit; the first MIN_WORDS words when the text says none of them in
    its first SCAN_CHARS characters.
    """
    stems = {stem(part) for word in words for part in WORD.findall(word)}
    # A word starts as its stem does but for the stem's last letter, which Snowball may have
    # rewritten (`happy`, `happi`).
    prefixes = {s if len(s) <= 3 else s[:-1] for s in stems if s}
    said = _said(text, stems, prefixes, 0, min(len(text), SCAN_CHARS), first_only=True)
    if not said:
        return _cut(text, list(islice(WORD.finditer(text), MIN_WORDS)), [])
    # The words from a little before the first match on: enough to choose the window from.
    begin = _start_of_lead(text, said[0])
    tokens = list(islice(WORD.finditer(text, begin), MAX_WORDS * 2))
    index = {token.start(): n for n, token in enumerate(tokens)}
    bold = [index[start] for start in _said(text, stems, prefixes, begin, tokens[-1].end())]
    start = _best_window(tokens, bold)
    window = tokens[start : start + MAX_WORDS]
    return _cut(text, window, [n - start for n in bold if start <= n < start + MAX_WORDS])


def _said(
    text: str, stems: set[str], prefixes: set[str], begin: int, end: int, first_only: bool = False
) -> list[int]:
    """Where the words of text[begin:end] whose stem is one of `stems` start.

    Only the words starting with one of `prefixes` (the stems less their last letter) are
    stemmed: Snowball rewrites the ends of words, not their starts. They are found in the text
    lower-cased, by a pattern without case folding (several times faster), unless lower-casing
    changes the text's length (a few letters outside ASCII), which would shift the places.
    """
    if not prefixes:
        return []
    ordered = tuple(sorted(prefixes, key=lambda p: (-len(p), p)))
    lower = text[:end].lower()
    if len(lower) == end:
        pattern, searched = _prefix_pattern(ordered, 0), lower
    else:
        pattern, searched = _prefix_pattern(ordered, re.IGNORECASE), text
    starts = []
    for found in pattern.finditer(searched, begin, end):
        at = found.start()
        if at and searched[at - 1].isalnum():
            continue
        word = WORD.match(text, at)
        if word is not None and stem(word.group()) in stems:
            starts.append(at)
            if first_only:
                break
    return starts


@lru_cache(maxsize=1_000)
def _prefix_pattern(prefixes: tuple[str, ...], flags: int) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(p) for p in prefixes), flags)


def _start_of_lead(text: str, first: int) -> int:
    """Where the word LEAD_WORDS words before the one at `first` starts (or the text does)."""
    starts = [m.start() for m in WORD.finditer(text, max(0, first - 200), first)]
    lead = starts[-LEAD_WORDS:] if starts else []
    return lead[0] if lead else first


def _best_window(tokens: list[re.Match[str]], bold: list[int]) -> int:
    """The first token of the MAX_WORDS-token window holding the most distinct query words
    (then the most bold words), the earliest of equals; started LEAD_WORDS before its first
    bold word where it can be."""
    best, best_key = 0, (-1, -1)
    for first_bold in bold:
        start = max(0, first_bold - LEAD_WORDS)
        inside = [n for n in bold if start <= n < start + MAX_WORDS]
        key = (len({stem(tokens[n].group()) for n in inside}), len(inside))
        if key > best_key:
            best, best_key = start, key
    return best


def _cut(text: str, window: list[re.Match[str]], bold: list[int]) -> str:
    """The text from the window's first word to its last, the bold ones marked."""
    if not window:
        return ""
    parts = []
    position = window[0].start()
    for n in bold:
        token = window[n]
        parts += (text[position : token.start()], START, token.group(), STOP)
        position = token.end()
    parts.append(text[position : window[-1].end()])
    return "".join(parts)

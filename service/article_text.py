"""Every line an article says, as keys a pasted line can be looked up by.

Symptom records hold what the importer recognised as quoted evidence; an article says more
than that. Here each article is cut into the pieces a user may paste: every line, two and three
consecutive lines joined (the archive hard-wraps long messages), each sentence of a paragraph
re-joined, and text quoted inside a sentence. Each piece is normalised like a pasted line and
reduced to a 64-bit key; the store keeps (key, article, issue) rows, and a paste line finds
the articles that say it with one lookup, whatever extraction picked.

The same cutting applies to a pasted line on the other side (`line_candidates`): the whole
line, the parts a message is usually embedded in (quotes, after "error:"), and shorter runs of
words, so a known message inside a longer line still finds its article.
"""

from __future__ import annotations

import functools
import hashlib
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, islice
from typing import Any, NamedTuple

from service.normalize import line_signature, normalize, parse_line
from service.stop_words import SIGNATURE_STOP_WORDS

# Pieces with fewer terms than this say too little to find an article by.
MIN_TERMS = 2
# Longer pieces are not pasted as they are; their lines and sentences are.
MAX_PIECE_CHARS = 600
# Sections of steps and references: their lines are keys, their sentences are instructions
# nobody pastes from a log.
REMEDY_SECTIONS = frozenset({"resolution", "workaround", "status", "references"})
# Longer sentences of a paragraph are the article's own explanations, not messages.
MAX_SENTENCE_CHARS = 250
# Lines of one paragraph joined into windows, at most this many lines from its start: log
# excerpts can be long, and a window past that adds keys nobody pastes.
MAX_WINDOW_LINES = 60
# The archive wraps text at 80 columns; a line shorter than this ended where its writer ended
# it, and is not joined to the next one.
WRAPPED_MIN_CHARS = 35
# Bumped whenever the cutting or the normaliser changes what keys an article has; a store with
# keys of another format has them made again from its articles.
LINE_KEYS_FORMAT = 14

QUOTED = re.compile(
    r"[\"\u201c\u201d]([^\"\u201c\u201d\n]{4,300})[\"\u201c\u201d]"
    # single quotes only around words, so that an apostrophe does not open a quotation
    r"|(?:^|(?<=\s))'([^'\n]{4,300})'(?=[\s.,;:!?]|$)"
)
QUOTE_MARKS = re.compile("[\"'\u201c\u201d]")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\u201c])")
# "Error message: <message>", "Event ID 1234: <message>": a short lead-in, then the message.
LEAD_IN = re.compile(r"^([^:]{2,60}?):\s+(\S.*)$")


def line_key(
    signature: str, _blake2b: Any = hashlib.blake2b, _from_bytes: Any = int.from_bytes
) -> int:
    """A signed 64-bit key for a normalised line (SQLite integers are signed).

    A paste asks for a few thousand keys: the hash and the conversion are bound once, as
    defaults, rather than looked up on every call.
    """
    return _from_bytes(_blake2b(signature.encode(), digest_size=8).digest(), "big", signed=True)


# A placeholder opened at the end of a line and closed on the next: `<memory` of
# "referenced memory at <memory" + "address>." (the shape of normalize.PLACEHOLDER's).
OPEN_PLACEHOLDER = re.compile(r"<[A-Za-z][a-z][A-Za-z _-]{0,30}$")


def _joined(first: str, second: str) -> str:
    """The signature of two lines joined with a space, from the lines' own signatures.

    Normalising is local to tokens, so a joined line's signature is its lines' signatures in
    a row, with a placeholder that ends one line and starts the next counted once, as
    `normalize` counts it; working from signatures saves normalising every window again.
    """
    if not first or not second:
        return first or second
    if second[0] == "<" and first.endswith(second.split(" ", 1)[0]):
        head = second.split(" ", 1)
        if first.rsplit(" ", 1)[-1] == head[0]:
            return first if len(head) == 1 else f"{first} {head[1]}"
    return f"{first} {second}"


def _term_count(signature: str) -> int:
    # A placeholder is the one kind of token with a "<" in it, and never a stop word.
    words = signature.split()
    return len(words) - signature.count("<") - sum(map(SIGNATURE_STOP_WORDS.__contains__, words))


def _has_code(signature: str) -> bool:
    return "0x" in signature and any(t.startswith("0x") for t in signature.split())


def _rejoin_trailers(lines: list[str]) -> tuple[list[str], set[int]]:
    """Log lines whose `$$<component><time><thread>` trailer the archive wrapped, made whole;
    and a record that starts after a whole trailer ("...<thread=1720> ~SQL Msg", the wrap
    having cut the record there) put on a line of its own. Also the numbers of such lines: they
    go on in the next line, however short."""
    out: list[str] = []
    cut: set[int] = set()
    for line in lines:
        if out and (line.startswith("$$<") or ("$$<" in out[-1] and not out[-1].endswith(">"))):
            out[-1] = f"{out[-1]}{'  ' if line.startswith('$$<') else ' '}{line}"
        else:
            out.append(line)
        rest = _after_trailer(out[-1])
        if rest:
            out[-1] = out[-1][: len(out[-1]) - len(rest)].rstrip()
            cut.add(len(out))
            out.append(rest.strip())
    return out, cut


# A whole SMS 2.0 trailer, matched where a "$$<" starts; the archive often writes "..." for
# the time.
WHOLE_TRAILER = re.compile(r"\$\$<[^<>]*>(?:<[^<>]*>|[^<>]*)<thread=[^<>]*>")


def _after_trailer(line: str) -> str:
    """The text after the first whole trailer of `line` that has text after it, or ''."""
    at = line.find("$$<")
    while at >= 0:
        # Anchored at each "$$<": every attempt stops at the next bracket, so a line costs
        # time in proportion to its length.
        trailer = WHOLE_TRAILER.match(line, at)
        if trailer is not None:
            rest = line[trailer.end() :]
            if rest.strip():
                return rest
        at = line.find("$$<", at + 3)
    return ""


def _pieces_of_text(
    text: str, within: tuple[str, ...] = (), sentences: bool = True
) -> Iterator[tuple[str, str | None, int]]:
    """(piece, its signature if known, its terms if known) for one block of article text a
    user may paste, wrapped lines re-joined; only of paragraphs having all words `within`;
    with `sentences`, also the sentences of paragraphs, joined across their lines."""
    for paragraph in re.split(r"\n\s*\n", text):
        if within:
            lowered = paragraph.lower()
            if not all(word in lowered for word in within):
                continue
        raw, cut = _rejoin_trailers(
            [line.strip() for line in paragraph.split("\n") if line.strip()]
        )
        # A trailer cut short (the article ends, or quotes part of a line) is cut off too.
        lines = [parse_line(line)[0].split("$$<", 1)[0].rstrip() for line in raw]
        lines = [line for line in lines if line]
        if not lines:
            continue
        signatures: list[str] = []
        counts: list[int] = []
        for line in lines:
            signature = line_signature(line)
            signatures.append(signature)
            counts.append(_term_count(signature))
            yield line, signature, counts[-1]
            for inner in _inner_pieces(line):
                yield inner, None, 0
        last = min(len(lines), MAX_WINDOW_LINES)
        # Only a line long enough to have reached the wrap, or cut after a trailer, goes on in
        # the next one; a log record that ends in its trailer does not.
        goes_on = [
            (len(line) >= WRAPPED_MIN_CHARS or number in cut)
            and not (line.endswith(">") and "$$<" in line)
            for number, line in enumerate(raw)
        ]
        for start in range(last - 1):
            if not goes_on[start]:
                continue
            pair_text = " ".join(lines[start : start + 2])
            # A placeholder the wrap cut ("<memory" + "address>") is one slot only in the
            # joined text: normalised again, not joined from the lines' signatures.
            cut_placeholder = OPEN_PLACEHOLDER.search(lines[start]) is not None
            pair = (
                line_signature(pair_text)
                if cut_placeholder
                else _joined(signatures[start], signatures[start + 1])
            )
            pair_terms = _term_count(pair) if cut_placeholder else counts[start] + counts[start + 1]
            yield pair_text, pair, pair_terms
            if start + 2 < last and goes_on[start + 1]:
                triple_text = " ".join(lines[start : start + 3])
                if cut_placeholder or OPEN_PLACEHOLDER.search(lines[start + 1]):
                    triple = line_signature(triple_text)
                    yield triple_text, triple, _term_count(triple)
                else:
                    triple = _joined(pair, signatures[start + 2])
                    yield triple_text, triple, pair_terms + counts[start + 2]
        if len(lines) < 2:
            continue
        joined = " ".join(lines)
        # A message quoted in a long sentence and cut by the wrap ("occurs during the
        # "Installing ... client . .<wrap>" phase") is found only in the re-joined paragraph.
        if QUOTE_MARKS.search(joined):
            yield from ((quote, None, 0) for quote in _quoted_across(lines, joined))
        if sentences:
            for sentence in SENTENCE_END.split(joined):
                # A sentence within one line is already there as part of that line's runs.
                if len(sentence) <= MAX_SENTENCE_CHARS and not any(sentence in x for x in lines):
                    yield sentence, None, 0
                    for inner in _inner_pieces(sentence):
                        yield inner, None, 0


def quoted_parts(text: str) -> Iterator[str]:
    """The text between quotation marks in `text`."""
    for double, single in QUOTED.findall(text):
        yield double or single


def _quoted_across(lines: list[str], joined: str) -> Iterator[str]:
    """Quoted text of `joined` (the lines joined by spaces) that runs over a line's end."""
    # Where each line ends in `joined`: the space that joins it to the next.
    breaks = [end - 1 for end in accumulate(len(line) + 1 for line in lines[:-1])]
    for match in QUOTED.finditer(joined):
        start, end = match.span()
        first_break = bisect_right(breaks, start)
        if first_break < len(breaks) and breaks[first_break] < end:
            yield match.group(1) or match.group(2)


def _inner_pieces(text: str) -> Iterator[str]:
    """Messages embedded in a line: quoted text, and what follows a short lead-in."""
    # Most lines have neither quotation marks nor a colon: each check costs far less than the
    # pattern it saves.
    if QUOTE_MARKS.search(text):
        yield from quoted_parts(text)
    if ":" in text:
        lead = LEAD_IN.match(text)
        if lead and len(lead.group(1).split()) <= 6:
            yield lead.group(2)


@dataclass(frozen=True)
class LineKeys:
    """An article's line keys and the issue number of each, compact: parser processes hand
    them to the writing process, and the store keeps them as they are."""

    keys: array
    issue_numbers: array

    @classmethod
    def of(cls, lines: list[ArticleLine]) -> LineKeys:
        return cls(
            array("q", (line.key for line in lines)),
            array("H", (line.issue_number for line in lines)),
        )


class ArticleLine(NamedTuple):
    """One piece of an article, as the matcher will look it up."""

    key: int
    text: str
    issue_number: int


def article_lines(document: dict[str, Any], within: tuple[str, ...] = ()) -> list[ArticleLine]:
    """Every distinct piece of an article, each attributed to the issue whose text it is in.

    Issue descriptions and symptoms come first, so a piece found there belongs to that issue;
    the rest of the article (title, sections) belongs to the first issue. With `within`, only
    the pieces of paragraphs that have all those words (to find the words behind a key).
    """
    return list(iter_article_lines(document, within))


def iter_article_lines(
    document: dict[str, Any], within: tuple[str, ...] = ()
) -> Iterator[ArticleLine]:
    """`article_lines` one piece at a time: a caller looking for one key stops at it."""
    issues = document.get("issues") or []
    first = min((issue["number"] for issue in issues), default=1)
    numbers = {issue["id"]: issue["number"] for issue in issues}
    sources: list[tuple[str, int]] = []
    for issue in issues:
        sources.append((issue.get("title") or "", issue["number"]))
        sources.append((issue.get("description") or "", issue["number"]))
    for symptom in document.get("symptoms") or []:
        sources.append((symptom["text"], numbers.get(symptom.get("issue_id"), first)))
    sources.append((document.get("title") or "", first))
    for section in document.get("sections") or []:
        sources.append((section.get("body") or "", first))
    remedies = {
        section.get("body") or ""
        for section in document.get("sections") or []
        if section.get("key") in REMEDY_SECTIONS
    }
    seen: set[int] = set()
    done: set[str] = set()
    for text, number in sources:
        # An issue's description is often a section's text too: cut once, for the issue.
        if text in done:
            continue
        done.add(text)
        for piece, known, terms in _pieces_of_text(text, within, text not in remedies):
            signature = known
            if signature is None:
                if len(piece) > MAX_PIECE_CHARS:
                    continue
                signature = line_signature(piece)
                terms = _term_count(signature)
            if terms < MIN_TERMS and not _has_code(signature):
                continue
            key = line_key(signature)
            if key not in seen:
                seen.add(key)
                yield ArticleLine(key, piece, number)
            if DIGIT.search(signature):
                masked = numbers_masked(signature)
                if masked != signature and _term_count(masked) >= MIN_TERMS:
                    key = line_key(masked)
                    if key not in seen:
                        seen.add(key)
                        yield ArticleLine(key, piece, number)


class Candidate(NamedTuple):
    """A span of a pasted line to look up, and how much of the line it is.

    What it says is worked out only for the few candidates some article says: a paste asks
    for thousands (a tuple: made in a fraction of a frozen dataclass's time).
    """

    key: int
    how: str
    signature: str
    line_terms: frozenset[str]
    quoted: bool = False
    # Found only once a misspelt word of the line was put right.
    typo: bool = False

    @property
    def terms(self) -> tuple[str, ...]:
        return signature_terms(self.signature)

    @property
    def coverage(self) -> float:
        """The share of the line's terms the span carries: a message inside more text counts
        less, unless quotation marks say where it starts and ends."""
        if self.how != "contained":
            return 1.0
        share = len(self.line_terms.intersection(self.terms)) / max(1, len(self.line_terms))
        return max(share, QUOTED_SHARE) if self.quoted else share


# Pasted lines whose whole-line keys a process keeps, of at most this many characters: about
# 2 KB a routine line, 9 KB at most (a line of quotes and sentences), so 18 MB at worst.
WHOLE_CANDIDATES_KEPT = 2_000
WHOLE_CANDIDATES_MAX_CHARS = 200
# The least share of a line a quoted message in it counts as.
QUOTED_SHARE = 0.8
# How a candidate came up, and whether quotation marks bounded it.
NORMALISED = ("normalised", False)
SLOTTED = ("slot", False)
CONTAINED = ("contained", False)
QUOTED_PART = ("contained", True)
# Runs of words tried inside a long line: at least this many tokens, at most this many.
SPAN_MIN_TOKENS = 3
SPAN_MAX_TOKENS = 14
# Runs with more values inside than this are not tried with them as slots (`valued_spans`).
SPAN_MAX_VALUES = 2
# Lines with more tokens than this are not searched for runs: logs do not quote essays.
SPAN_LINE_MAX_TOKENS = 40
# Quoted messages, and sentences, looked up per pasted line, at most: each is normalised and
# looked up, and a line of thousands of quotes or sentences would cost thousands of each.
MAX_PARTS_PER_LINE = 20


@functools.lru_cache(maxsize=WHOLE_CANDIDATES_KEPT)
def _whole_line_candidates(message: str) -> tuple[Candidate, ...]:
    return tuple(line_candidates(message, spans=False))


def whole_line_candidates(message: str) -> list[Candidate]:
    """`line_candidates(message, spans=False)`, kept for the lines that come back.

    Logs repeat themselves (routine lines, the same message in paste after paste), and a
    line's keys are some twenty hashes of as many texts: worked out once, while kept. Only
    lines of a log's usual length are kept: a long line's candidates hold texts as long, and
    pastes of such lines would otherwise fill the memory of every worker.
    """
    if len(message) > WHOLE_CANDIDATES_MAX_CHARS:
        return line_candidates(message, spans=False)
    return list(_whole_line_candidates(message))


def line_candidates(
    message: str,
    spans: bool,
    valued_spans: bool = False,
    whole: bool = True,
    names: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """The keys to look up for one pasted message: whole, embedded parts, and (with `spans`)
    every run of 3-14 tokens, for a known message inside a sentence that is not quoted.

    With `valued_spans` too, runs with a value or two inside ("the relay SRV01 is already a
    widget relay in site A01") are tried with each value, and both, as a slot: where the
    article wrote a placeholder. Several keys a run: for the few lines of a typed question.
    Without `whole`, only the runs and slots: for a line whose whole and parts were looked up
    already. `names`: tokens of the line taken for values too, though they have no digit (a
    host "SMSPRI" where the article wrote "<machine name>").
    """
    normal = normalize(message)
    if not normal.signature:
        return []
    terms = frozenset(normal.terms)
    # Signature -> (how, quoted) of the first way it came up: runs and slots often come out
    # alike, and each text is hashed once, at the end. No check of how much a span says here:
    # articles have no keys for pieces that say too little (see article_lines), so looking
    # such a span up only finds nothing.
    wanted: dict[str, tuple[str, bool]] = {}
    pieces = list(islice(_inner_pieces(message), MAX_PARTS_PER_LINE))
    if whole:
        wanted.setdefault(normal.signature, NORMALISED)
        wanted.setdefault(numbers_masked(normal.signature), SLOTTED)
        # Every value where an article writes a placeholder ("in domain NYC49852 ... in domain
        # A0102137" for "in domain <master domain name> ... in domain <resource domain
        # name>"): one key, so lines of any length try it.
        wanted.setdefault(values_masked(normal.signature), SLOTTED)
        for piece in pieces:
            wanted.setdefault(normalize(piece).signature, QUOTED_PART)
        sentences = SENTENCE_END.split(message, maxsplit=MAX_PARTS_PER_LINE)
        for sentence in sentences[:MAX_PARTS_PER_LINE]:
            if sentence != message:
                wanted.setdefault(normalize(sentence).signature, CONTAINED)
    tokens = normal.signature.split()
    if spans and len(tokens) <= SPAN_LINE_MAX_TOKENS:
        values = [is_value(t) or t in names for t in tokens]
        # values_before[i]: how many of the first i tokens are values.
        values_before = [0, *accumulate(values)]
        for size in range(min(SPAN_MAX_TOKENS, len(tokens) - 1), SPAN_MIN_TOKENS - 1, -1):
            for start in range(len(tokens) - size + 1):
                end = start + size
                run = " ".join(tokens[start:end])
                wanted.setdefault(run, CONTAINED)
                # A value next to a run of words may be what the article wrote as a
                # placeholder: "Error Unable to open file NYC46784 after reboot" says the
                # article's "Unable to open file <filename>".
                inside = values_before[end] - values_before[start]
                if inside:
                    if valued_spans and inside <= SPAN_MAX_VALUES:
                        for variant in _values_slotted(tokens[start:end], values[start:end]):
                            wanted.setdefault(variant, CONTAINED)
                    continue
                if end < len(tokens) and values[end]:
                    wanted.setdefault(f"{run} {SLOT}", CONTAINED)
                elif valued_spans and end + 1 < len(tokens) and values[end + 1]:
                    # A name the tokens split ("FS-02" is "fs 02") may be the placeholder too.
                    wanted.setdefault(f"{run} {SLOT}", CONTAINED)
                if start > 0 and values[start - 1]:
                    wanted.setdefault(f"{SLOT} {run}", CONTAINED)
        # Slots: an article writes "<server name>" or "0xXXXXXXXX" where the log has a value;
        # any placeholder of the paste, and one run of up to three tokens, may be that slot,
        # in the whole line and in a message quoted in it.
        bases = [tokens] + [normalize(piece).signature.split() for piece in pieces]
        for base in bases:
            general = tuple(SLOT if t.startswith("<") else t for t in base)
            # The line as it is, then with its placeholders as slots (once when alike).
            for source in dict.fromkeys((tuple(base), general)):
                for variant in (*_slotted(source), collapsed(list(source))):
                    # A run above may have come out alike ("unable to locate <x>" of "I get
                    # 'Unable to locate FS-02' when..."): it is the whole line or quoted
                    # message with a slot, which says more than a run of it would.
                    if wanted.get(variant, CONTAINED) == CONTAINED:
                        wanted[variant] = SLOTTED
    out: dict[int, Candidate] = {}
    for signature, (how, quoted) in wanted.items():
        key = line_key(signature)
        if key not in out:
            out[key] = Candidate(key, how, signature, terms, quoted)
    return list(out.values())


def _slotted(source: tuple[str, ...]) -> Iterator[str]:
    """`source` with each run of one to three tokens as a slot, collapsed as `collapsed`
    would collapse it.

    A line has about sixty such runs: each is joined from the collapsed text before and after
    it, worked out once, instead of collapsing the whole line again per run. Collapsing merges
    only a placeholder with the same one next to it, so the parts join as they are but where
    the slot meets a slot.
    """
    count = len(source)
    heads = [""] * (count + 1)
    kept: list[str] = []
    for i, token in enumerate(source):
        if not (token[0] == "<" and kept and kept[-1] == token):
            kept.append(token)
        heads[i + 1] = " ".join(kept)
    tails = [""] * (count + 1)
    kept = []
    for i in range(count - 1, -1, -1):
        token = source[i]
        if not (token[0] == "<" and kept and kept[-1] == token):
            kept.append(token)
        tails[i] = " ".join(reversed(kept))
    for size in (1, 2, 3):
        for start in range(count - size + 1):
            end = start + size
            head, tail = heads[start], tails[end]
            # A slot after this one is taken in by it...
            if end < count and source[end] == SLOT:
                tail = tail[len(SLOT) + 1 :]
            # ... and this one by a slot before it.
            if start and source[start - 1] == SLOT:
                yield f"{head} {tail}" if tail else head
            elif head:
                yield f"{head} {SLOT} {tail}" if tail else f"{head} {SLOT}"
            else:
                yield f"{SLOT} {tail}" if tail else SLOT


def _values_slotted(run: list[str], values: list[bool]) -> Iterator[str]:
    """A run with each of its values as a slot, one at a time, then all of them."""
    at = [i for i, value in enumerate(values) if value]
    for i in at:
        yield collapsed([*run[:i], SLOT, *run[i + 1 :]])
    if len(at) > 1:
        yield collapsed(
            [SLOT if value else token for token, value in zip(run, values, strict=True)]
        )


SLOT = "<x>"
DIGIT = re.compile(r"\d")
NUMBER_TOKEN = re.compile(r"(?<![^ ])\d+(?![^ ])")
REPEATED_SLOT = re.compile(r"<x>(?: <x>)+")


def numbers_masked(signature: str) -> str:
    """The signature with its small numbers as slots ("revision 7" and "revision 12" alike).

    Both sides have this key besides the exact one, which still counts more: a number that
    means something (an error number) is kept there.
    """
    if not DIGIT.search(signature):
        return signature
    return REPEATED_SLOT.sub(SLOT, NUMBER_TOKEN.sub(SLOT, signature))


def values_masked(signature: str) -> str:
    """A signature with each token that has a digit (an id, a name with a number) as a slot;
    the placeholders `normalize` made are kept as they are."""
    if not DIGIT.search(signature):
        # Nothing to mask; `normalize` has collapsed its placeholders already.
        return signature
    tokens = [SLOT if not t.startswith("<") and DIGIT.search(t) else t for t in signature.split()]
    return collapsed(tokens)


def each_value_slotted(signature: str, limit: int = 4) -> list[str]:
    """The signature with one of its values (a token with a digit) as a slot and the others
    kept, for each of its first `limit` values; none when it has fewer than two (then
    `values_masked` is that already)."""
    tokens = signature.split()
    values = [i for i, t in enumerate(tokens) if not t.startswith("<") and DIGIT.search(t)]
    if len(values) < 2:
        return []
    return [collapsed([*tokens[:i], SLOT, *tokens[i + 1 :]]) for i in values[:limit]]


def placeholders_as_slots(signature: str) -> str:
    """A signature with every placeholder `normalize` made (`<hex>`, `<path>`, `<ip>`) as a
    slot, as an article's own placeholders are; codes and names are kept."""
    if "<" not in signature:
        return signature
    return collapsed([SLOT if t.startswith("<") else t for t in signature.split()])


def is_name_with_number(token: str) -> bool:
    """Whether a token is a name with a number in it (`a0138410`, `srv01`), not a count."""
    return not token.startswith("<") and not token.isdigit() and DIGIT.search(token) is not None


def is_value(token: str) -> bool:
    """Whether a token of a signature is instance data: a placeholder, or has a digit."""
    return token.startswith("<") or DIGIT.search(token) is not None


def collapsed(tokens: list[str]) -> str:
    """Tokens as a signature, a placeholder repeated in a row counted once (as `normalize`)."""
    kept: list[str] = []
    for token in tokens:
        if token.startswith("<") and kept and kept[-1] == token:
            continue
        kept.append(token)
    return " ".join(kept)


def signature_terms(signature: str) -> tuple[str, ...]:
    """The terms of a normalised signature, as `normalize` picks them: no placeholders, no
    stop words, each once."""
    return tuple(
        dict.fromkeys(t for t in signature.split() if t[0] != "<" and t not in SIGNATURE_STOP_WORDS)
    )

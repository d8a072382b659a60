"""From parsed paste lines to ranked issues, each with the evidence that put it there.

Matching runs in three passes, cheapest first:
1. exact and normalised signatures: a term lookup per distinct line, no scoring query;
2. partial matches for the lines left: candidates come from the postings of each line's few
   rarest terms, and are kept only when they share most of the symptom's information;
3. prose: lines a person wrote are compared with the issues' descriptions (BM25 over short issue
   documents, a handful of the rarest terms).
Evidence is weighed by how specific the matched symptom is (the information in its terms, and
how many issues share it), summed per issue, and turned into a confidence in 0..1; issues that
approved feedback said the same lines did not explain are lowered before the final order.
The lines come parsed and normalised (service.matching.parse); each piece of evidence keeps the
signature of its line, so nothing here or after normalises a paste line again.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from whoosh.analysis import StemmingAnalyzer
from whoosh.lang.porter import stem as porter_stem
from whoosh.searching import Searcher

from service import budget
from service.article_text import (
    QUOTE_MARKS,
    SLOT,
    Candidate,
    collapsed,
    each_value_slotted,
    is_name_with_number,
    line_candidates,
    line_key,
    numbers_masked,
    placeholders_as_slots,
    quoted_parts,
    values_masked,
    whole_line_candidates,
)
from service.error_codes import ErrorCode
from service.index import SearcherCaches, documents_having, issue_documents
from service.learning import penalty_factor
from service.matching.parse import PasteLine
from service.normalize import NormalizedLine, looks_like_prose, normalize, signature_key
from service.stop_words import PROSE_STOP_WORDS
from service.storage import Store
from service.storage.lines import Found

# From this confidence on, an answer presents its match as sure: the one threshold the API,
# its renderings, the metrics and the activity log (content gaps) all go by.
CONFIDENT = 0.5

# Paste after paste brings the same words back, and stemming one costs tens of microseconds.
stem = functools.lru_cache(maxsize=50_000)(porter_stem)

QUALITY = {"exact": 1.0, "normalised": 0.95}
PARTIAL_QUALITY = 0.8
PARTIAL_MIN_SIMILARITY = 0.6
PARTIAL_MIN_TERMS = 4
RARE_TERMS_PER_LINE = 4
# A symptom carrying this much information (sum of its terms' idf) counts in full.
FULL_INFORMATION = 14.0
MIN_CONFIDENCE = 0.05
PROSE_TERMS = 12
# The rarest of the chosen words ask the full-text search for candidate articles, this many.
PROSE_SEARCH_TERMS = 6
PROSE_CANDIDATES = 20
PROSE_MIN_COVERAGE = 0.35
PROSE_WEIGHT = 1.3
PROSE_FULL_TERMS = 10
# Issue texts longer than this many words have their prose coverage damped.
PROSE_REFERENCE_LENGTH = 250
LOG_FILE_BONUS = 0.1
# Evidence from an article's own text (any line it says, not a symptom record): a whole line
# counts a little less than a symptom, a message found inside a longer line less again, and a
# line found only once a misspelt word is put right less still.
TEXT_QUALITY = {"normalised": 0.9, "slot": 0.8, "contained": 0.8}
TYPO_QUALITY = 0.83
# Learned symptoms (approved feedback) count less than an article's own line (0.9-1.0), so a
# line an article says always points at that article first. An issue's learned evidence adds at
# most LEARNED_CAP together, and at most LEARNED_ALONE more than the paste's own evidence for
# the issue: taught lines lift an issue the paste already points to, and alone they make only a
# tentative answer, so lines taught to one issue never pull other users' pastes away from the
# articles that explain them.
LEARNED_FACTOR = 0.75
LEARNED_CAP = 1.5
LEARNED_ALONE = 0.3
# A line whose terms carry this much information (idf over the issues' texts) counts in full;
# short lines of common words count less.
TEXT_FULL_INFORMATION = 16.0
CONTENT_PRIOR_ISSUES = 500
# What a line that describes rather than reports counts for (see normalize.is_descriptive).
DESCRIPTIVE_LINE_FACTOR = 0.15
# Found candidates of one line compared pairwise for the articles saying them (`_said_by`), at
# most: a line of article text pieced together finds hundreds of runs, and the comparison grows
# with their square; beyond, each piece keeps its own count.
SAID_BY_MAX_HITS = 64
# What a routine line counts for as an issue's only evidence, beside lines of the paste that
# report a problem.
ROUTINE_LINE_FACTOR = 0.4
# Lines of fewer terms than this count less ("Sleeping for 60 seconds", "File not found").
SHORT_LINE_TERMS = 5
# Paste lines with no whole-line match that are searched for a known message inside them, and
# for a misspelt word, at most: both cost a few hundred lookups a line.
SPAN_SEARCH_LINES = 40
# Words of a typed line that no text uses, tried as names (slots) in its runs, at most.
SPAN_MAX_NAMES = 2
# A line is searched inside (runs of words, typos) unless a candidate this much of it was found.
FOUND_COVERAGE = 0.75
TYPO_SEARCH_LINES = 10
TYPO_MIN_LETTERS = 4
# A word fewer issues than this use is tried as a misspelling of a more common one.
TYPO_RARE_ISSUES = 2
# Lines of a paste whose quoted parts are compared with the symptoms when the whole line
# resembles none, and the parts of a line tried: each is a search of its own.
QUOTED_PARTIAL_LINES = 20
QUOTED_PARTS_PER_LINE = 2
MAX_QUOTED_PART_CHARS = 300
# A file name whose name part may be misspelt: letters, then a short extension.
FILE_NAME = re.compile(r"([a-z]{4,30})(\.[a-z0-9]{1,4})")
# Longer words are not put right: they are names or junk rather than misspelt words, and a
# word has some 54 variants one edit away per letter, each as long as the word (a paste of
# 10,000-letter words would make billions of characters of them).
TYPO_MAX_LETTERS = 30
TYPO_WORDS_PER_LINE = 2
# Pastes of at most this many distinct lines have misspelt words put right by vocabulary, in
# at most this many lines, and stop after this many candidates of corrected lines.
TYPO_CORRECTED_PASTE_LINES = 20
TYPO_CORRECTED_LINES = 3
TYPO_CORRECTED_CANDIDATES = 3_000
TYPO_CORRECTIONS_PER_WORD = 3
# Unknown words of a line tried for corrections by vocabulary, at most.
TYPO_CORRECTED_WORDS = 8
# Evidence this weak (a line many articles say, or of common words) is boilerplate of some log
# format or of the KB: however many such lines a paste has, together they count at most
# WEAK_EVIDENCE_CAP, which stays under a confident answer.
WEAK_EVIDENCE = 0.3
WEAK_EVIDENCE_CAP = 0.5
# Terms more common than this share of symptoms are too generic to fetch candidates by.
GENERIC_SHARE = 0.01
GENERIC_MIN_DF = 30

_prose_analyzer = StemmingAnalyzer(stoplist=PROSE_STOP_WORDS, minsize=2)


@dataclass
class Evidence:
    """One paste line matched to one symptom."""

    line: int
    text: str
    # The paste line's normalised signature, as the parse step made it.
    signature: str
    symptom_id: str
    how: str
    similarity: float
    weight: float
    # The error codes the paste line reports (shown with the match, not weighed).
    codes: tuple[ErrorCode, ...] = ()
    # Evidence from the article's text rather than a symptom record: the key of the article
    # line it matched, and how many articles say that line.
    line_key: int | None = None
    shared_by: int = 1
    # The rarest words of what matched, to find the article's own words for it again.
    key_words: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        line: PasteLine,
        symptom_id: str,
        how: str,
        similarity: float,
        weight: float,
        **more: Any,
    ) -> Evidence:
        """Evidence from a paste line: its number, words, signature and codes as parsed."""
        return cls(
            line.number,
            line.message,
            line.signature,
            symptom_id,
            how,
            similarity,
            weight,
            line.error_codes,
            **more,
        )


@dataclass
class RankedIssue:
    issue_id: str
    article_id: str
    score: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)
    text_coverage: float = 0.0
    # The paste's words its text has, rarest first, as the paste writes them (people see them,
    # never stems).
    text_terms: list[str] = field(default_factory=list)
    log_files: list[str] = field(default_factory=list)
    # The share of the score left when lines that several articles say count only as much as
    # they tell this one apart: the score ranks, this says how sure the ranking is.
    distinct_share: float = 1.0

    @property
    def confidence(self) -> float:
        return round(1.0 - math.exp(-self.score * self.distinct_share), 3)

    def order(self) -> tuple[float, float, str]:
        """Sort key, best first: the score (how much the paste says for the issue), then how
        sure, then the id for a stable order.

        The score already counts a line many articles say for less (shared_factor); ranking by
        confidence as well would put a weak part of a line, said by three articles, before the
        whole line said word for word by seven.
        """
        return (-self.score, -self.score * self.distinct_share, self.issue_id)

    @property
    def worth_showing(self) -> bool:
        return self.score > 0 and 1.0 - math.exp(-self.score) >= MIN_CONFIDENCE


@dataclass(frozen=True)
class Penalties:
    """Approved "did not help" verdicts: the issues that have any, and per issue the verdicts
    by the signature of the line they were given on (read only for issues a paste found)."""

    issues: frozenset[str] = frozenset()
    verdicts_of: Callable[[str], dict[str, int]] = field(default=lambda issue_id: {})

    def factor(self, ranked: RankedIssue) -> float:
        """How much of its score an issue keeps: lowered when the lines that found it are lines
        users said it did not explain."""
        if ranked.issue_id not in self.issues:
            return 1.0
        by_line = self.verdicts_of(ranked.issue_id)
        return penalty_factor(
            max((by_line.get(e.signature, 0) for e in ranked.evidence), default=0)
        )


@dataclass
class RankOutcome:
    issues: list[RankedIssue]
    matched_lines: int
    unmatched_lines: int
    # The distinct lines that matched no symptom, normalised: what feedback can learn from.
    unmatched: list[NormalizedLine] = field(default_factory=list)
    # Issues worth showing that `allowed` left out (of articles of another product or
    # version), best first: what a filter hid.
    hidden: list[RankedIssue] = field(default_factory=list)


@dataclass
class _Symptom:
    docnum: int
    symptom_id: str
    issue_id: str
    article_id: str
    terms: tuple[str, ...]
    component: str
    log_files: tuple[str, ...]
    exact: str
    # The information its terms carry (Ranker.information), worked out once.
    information: float


class Ranker:
    """Ranks issues for the lines of one paste against one index searcher."""

    def __init__(
        self,
        searcher: Searcher,
        caches: SearcherCaches | None = None,
        store: Store | None = None,
        line_lookup: Callable[[Iterable[int]], Found] | None = None,
        learned: frozenset[str] = frozenset(),
    ) -> None:
        self.searcher = searcher
        # Ids of the symptoms users taught (service.learning), weighed less than the articles'.
        self.learned = learned
        self.store = store
        self.line_lookup = line_lookup
        self.reader = searcher.reader()
        caches = caches if caches is not None else SearcherCaches()
        caches.trim()
        self._caches = caches
        self._partials = caches.partial
        # Shared by the requests that use this searcher: they depend on the index alone.
        self._idf: dict[str, float] = caches.symptom_idf
        self._symptoms: dict[int, _Symptom] = caches.symptoms
        self._by_id: dict[str, _Symptom] = caches.symptoms_by_id
        self._symptom_count = max(1, self.df("doc_type", "symptom"))
        self._issue_count = max(1, self.df("doc_type", "issue"))
        self._content_idf: dict[str, float] = caches.content_idf

    # -- term statistics ------------------------------------------------------------------

    def idf(self, term: str) -> float:
        """Inverse document frequency of a normalised term among symptoms (0 when absent)."""
        value = self._idf.get(term)
        if value is None:
            df = self.df("terms", term)
            value = math.log(1 + self._symptom_count / df) if df else 0.0
            self._idf[term] = value
        return value

    def df(self, field_name: str, term: str) -> int:
        return self._caches.doc_frequency(self.reader, field_name, term)

    def terms_present(self, field_name: str, terms: Iterable[str]) -> set[str]:
        """Those of `terms` whose `df` is above 0, many asked at once."""
        return self._caches.terms_present(self.reader, field_name, terms)

    def unseen_idf(self) -> float:
        """What a term the index has never seen is worth: as rare as a term can be."""
        return math.log(1 + self._symptom_count)

    def information(self, terms: tuple[str, ...]) -> float:
        return sum(self.idf(t) or self.unseen_idf() for t in terms)

    def symptom(self, docnum: int) -> _Symptom:
        cached = self._symptoms.get(docnum)
        if cached is None:
            stored = self.searcher.stored_fields(docnum)
            terms = tuple(stored.get("terms_stored", "").split())
            cached = _Symptom(
                docnum,
                stored["doc_id"].split(":", 1)[1],
                stored["issue_id"],
                stored["article_id"],
                terms,
                stored.get("component") or "",
                tuple(f for f in (stored.get("log_files") or "").split(",") if f),
                stored.get("exact") or "",
                self.information(terms),
            )
            self._symptoms[docnum] = cached
            self._by_id[cached.symptom_id] = cached
        return cached

    def postings(self, field_name: str, term: str) -> list[int]:
        return self._caches.postings_of(self.reader, field_name, term)

    # -- passes ---------------------------------------------------------------------------

    def rank(
        self,
        lines: list[PasteLine],
        paste_log_files: list[str],
        allowed: Callable[[str], bool] | None = None,
        penalties: Penalties | None = None,
    ) -> RankOutcome:
        """Rank issues for a paste's parsed lines, best first, each issue with its evidence.

        `allowed(article_id)` narrows by product or version: the issues of other articles are
        weighed apart, as if they were not there, and come back as `hidden` so that an answer
        can say what the filter left out. `penalties` lowers issues that approved feedback said
        the same lines did not explain (lowered, never removed: doubts reorder what the
        articles say rather than hide it).
        """
        unique: dict[str, PasteLine] = {}
        for line in lines:
            if line.signature and line.signature not in unique:
                unique[line.signature] = line
        by_issue: dict[str, RankedIssue] = {}
        hidden: dict[str, RankedIssue] = {}

        def issues_of(article_id: str) -> dict[str, RankedIssue]:
            """Where an article's issues are weighed: with the others, or apart if filtered."""
            return by_issue if allowed is None or allowed(article_id) else hidden

        matched_signatures: set[str] = set()
        leftovers: list[PasteLine] = []

        for signature, line in unique.items():
            budget.check("looking up whole lines")
            found = self._signature_evidence(line)
            if not found:
                leftovers.append(line)
                continue
            matched_signatures.add(signature)
            self._add(issues_of, found)

        still_left: list[PasteLine] = []
        # Lines that differ only in their numbers ("Sleeping for 60 seconds", "... 45 ...")
        # are one search: logs repeat such lines by the hundred.
        searched: set[str] = set()
        quoted_searches = 0
        for line in leftovers:
            budget.check("looking for partial matches")
            shape = numbers_masked(line.signature)
            if shape in searched:
                still_left.append(line)
                continue
            searched.add(shape)
            found = self._partial_evidence(line)
            if (
                not found
                and quoted_searches < QUOTED_PARTIAL_LINES
                and QUOTE_MARKS.search(line.message)
            ):
                # A message quoted in a sentence, with other values than the article's ("getting
                # 'Delete zero length file N2WYWYJN.sid failed' every time..."): the words around
                # it keep the whole line from resembling any symptom, the quotation alone may.
                quoted_searches += 1
                found = self._partial_evidence(line, quoted=True)
            if found:
                matched_signatures.add(line.signature)
                self._add(issues_of, found)
            else:
                still_left.append(line)

        if self.store is not None and self.line_lookup is not None:
            self._text_evidence(issues_of, [*by_issue.values(), *hidden.values()], unique)
        for ranked in by_issue.values():
            for e in ranked.evidence:
                matched_signatures.add(e.signature)

        # Only lines outside any log format can be a person's words; log lines go to passes 1-2.
        # A line some article's text or symptom says, even in part, is not measured again as
        # prose: its message already counts where it was found, and the words around it ("I
        # get ... every time the service starts") would only add articles that share the
        # message's common words, or routine log lines' words, at the expense of the one that
        # quotes it.
        prose = [
            line.message
            for line in still_left
            if line.signature not in matched_signatures
            if line.record.format == "plain" and looks_like_prose(line.message)
        ]
        if prose:
            # Articles the paste's other lines point to are measured against its prose too,
            # whether or not the full-text search would have offered them: a message quoted on
            # one line and a description on the next then count together.
            pointed = sorted(
                [*by_issue.values(), *hidden.values()],
                key=lambda r: -sum(e.weight for e in r.evidence),
            )
            also = list(dict.fromkeys(r.article_id for r in pointed if r.evidence))
            self._prose_evidence(issues_of, prose, tuple(also[:PROSE_CANDIDATES]))

        _discount_routine_lines([*by_issue.values(), *hidden.values()], unique)
        paste_files = {f.lower(): f for f in paste_log_files}
        for ranked in [*by_issue.values(), *hidden.values()]:
            self._score(ranked, paste_files)
        ranked_issues = [r for r in by_issue.values() if r.worth_showing]
        if penalties is not None and penalties.issues:
            # After the choice of what is worth showing: a lowered issue stays in the answer.
            for ranked in ranked_issues:
                ranked.score *= penalties.factor(ranked)
        ranked_issues.sort(key=RankedIssue.order)
        for ranked in ranked_issues:
            ranked.evidence.sort(key=lambda e: e.line)
        matched = sum(1 for line in lines if line.signature in matched_signatures)
        unmatched = [line.normal for s, line in unique.items() if s not in matched_signatures]
        left_out = sorted((r for r in hidden.values() if r.worth_showing), key=RankedIssue.order)
        return RankOutcome(ranked_issues, matched, len(lines) - matched, unmatched, left_out)

    def _score(self, ranked: RankedIssue, paste_files: dict[str, str]) -> None:
        """An issue's score from its evidence, the log files the paste names and its prose."""
        ranked.score = self._evidence_score(ranked.evidence, lambda e: e.weight)
        if ranked.score > 0:
            distinct = self._evidence_score(
                ranked.evidence, lambda e: e.weight * distinct_factor(e.shared_by)
            )
            ranked.distinct_share = distinct / ranked.score
        if ranked.evidence and paste_files:
            files = {
                f
                for e in ranked.evidence
                for f in self._symptom_files(e.symptom_id)
                if f in paste_files
            }
            if files:
                ranked.log_files = sorted(paste_files[f] for f in files)
                ranked.score += LOG_FILE_BONUS * len(files)
        if ranked.text_coverage >= PROSE_MIN_COVERAGE:
            ranked.score += PROSE_WEIGHT * ranked.text_coverage**2

    def _symptom_files(self, symptom_id: str) -> tuple[str, ...]:
        symptom = self._by_id.get(symptom_id)
        return symptom.log_files if symptom else ()

    def _add(
        self,
        issues_of: Callable[[str], dict[str, RankedIssue]],
        found: list[tuple[_Symptom, Evidence]],
    ) -> None:
        for symptom, evidence in found:
            ranked = issues_of(symptom.article_id).setdefault(
                symptom.issue_id, RankedIssue(symptom.issue_id, symptom.article_id)
            )
            # One symptom counts once, by its best line, and one paste line once, by its best
            # symptom: an issue that records a message twice ("Service started", "Service
            # started.") is not twice as likely for a paste that says it once.
            same = next(
                (i for i, e in enumerate(ranked.evidence) if e.symptom_id == evidence.symptom_id),
                None,
            )
            if same is None:
                same = next(
                    (i for i, e in enumerate(ranked.evidence) if e.line == evidence.line), None
                )
            if same is None:
                ranked.evidence.append(evidence)
            elif evidence.weight > ranked.evidence[same].weight:
                ranked.evidence[same] = evidence

    # -- evidence from the articles' own text ----------------------------------------------

    def content_idf(self, term: str) -> float:
        """How rare a word is in the issues' texts (stemmed as they are); unseen words are rare."""
        value = self._content_idf.get(term)
        if value is None:
            df = self.df("content", stem(term)) if term.isalpha() else 0
            # Smoothed as if CONTENT_PRIOR_ISSUES more issues did not use the word: in a small
            # knowledge base every word of its few issues would otherwise look common.
            value = math.log(1 + (self._issue_count + CONTENT_PRIOR_ISSUES) / (df + 1))
            self._content_idf[term] = value
        return value

    def _content_factor(self, terms: tuple[str, ...]) -> float:
        """How much a line says: the rarity of its words, and short lines count less."""
        information = sum(self.content_idf(t) for t in terms) / TEXT_FULL_INFORMATION
        return min(1.0, information) * min(1.0, (len(terms) + 1) / SHORT_LINE_TERMS)

    def _text_evidence(
        self,
        issues_of: Callable[[str], dict[str, RankedIssue]],
        known: list[RankedIssue],
        unique: dict[str, PasteLine],
    ) -> None:
        """Evidence from any line an article says: whole paste lines first; then, for lines
        that found nothing whole, a known message inside them and a misspelt word put right.
        `known`: the issues the symptoms found."""
        assert self.store is not None
        searches = [_TextSearch(line) for line in unique.values()]
        found = self._look_up(searches)
        best = self._best_hits(searches, found, known)
        if not best:
            return
        issue_ids = self.store.issue_ids_by_number(list(best))
        for article_id, keyed in best.items():
            issues = issues_of(article_id)
            for _, evidence, issue_number in keyed.values():
                issue_id = issue_ids.get((article_id, issue_number))
                if issue_id is None:
                    continue
                ranked = issues.setdefault(issue_id, RankedIssue(issue_id, article_id))
                ranked.evidence.append(evidence)

    def _look_up(self, searches: list[_TextSearch]) -> Found:
        """Each line's candidates, cheapest first, and which articles say each of them."""
        assert self.line_lookup is not None
        general_keys: set[int] = set()
        for search in searches:
            budget.check("cutting lines into pieces to look up")
            search.candidates = whole_line_candidates(search.line.message)
            # Every value as the placeholder an article writes: "The instruction at
            # 0x423ecccc referenced memory at 0x5244e940." is "... at <address> referenced
            # memory at <memory address>." too. A line found only so is still searched below
            # for articles that quote it with other values.
            general = placeholders_as_slots(search.normal.signature)
            if general != search.normal.signature:
                key = line_key(general)
                general_keys.add(key)
                search.candidates.append(
                    Candidate(key, "slot", general, frozenset(search.normal.terms))
                )
        found = self.line_lookup(c.key for s in searches for c in s.candidates)
        missing = []
        # Lines found nearly but not whole: "Objcet name: Package Rule File" finds the part
        # after its lead-in, and only its misspelt word put right finds the whole line.
        nearly = []
        shapes: set[str] = set()
        more: list[int] = []
        for search in searches:
            whole = [c for c in search.candidates if c.key in found and c.key not in general_keys]
            coverage = max((c.coverage for c in whole), default=0.0)
            if coverage >= 1.0:
                more += self._one_value_kept(search, whole)
                continue
            # One search per shape of line, as in the partial pass.
            shape = numbers_masked(search.normal.signature)
            if shape in shapes:
                continue
            shapes.add(shape)
            # Found is found whole, or nearly: a short sentence or quoted word of a long line
            # that some article says ("500 Server Error") must not stop the search for the
            # message the line holds.
            (nearly if coverage >= FOUND_COVERAGE else missing).append(search)
        misspelt = (missing + nearly)[:TYPO_SEARCH_LINES]
        # A short paste is typed or picked by hand: a message with values may sit inside a
        # sentence there, and its runs with values are tried with the values as slots too.
        typed = len(searches) <= TYPO_CORRECTED_PASTE_LINES
        for search in missing[:SPAN_SEARCH_LINES]:
            budget.check("looking for known messages inside lines")
            asked = {c.key for c in search.candidates}
            # In a typed line, a word no issue's text uses may be a name ("workstation SMSPRI"
            # for "workstation <machine name>"): it is tried as a slot, as values are.
            names = self._unknown_names(search.normal) if typed else frozenset()
            spans = [
                c
                for c in line_candidates(
                    search.line.message, spans=True, valued_spans=typed, whole=False, names=names
                )
                if c.key not in asked
            ]
            search.candidates += spans
            more += [c.key for c in spans]
        for number, search in enumerate(misspelt):
            budget.check("looking for misspelt words")
            typos = self._typo_candidates(search.normal, typed, number < TYPO_CORRECTED_LINES)
            search.candidates += typos
            more += [c.key for c in typos]
        # A short paste is typed or picked by hand: there a misspelt word is put right by the
        # words the issues' texts use, and the corrected line is searched every way, slots and
        # runs of words included. Bounded: a few lines, a few words each.
        if len(searches) <= TYPO_CORRECTED_PASTE_LINES:
            # Lines having a word no issue uses first: those are the ones it can put right.
            unseen = [s for s in misspelt if self._has_unseen_word(s.line.message)]
            for search in unseen[:TYPO_CORRECTED_LINES]:
                budget.check("putting misspelt words right")
                asked = {c.key for c in search.candidates}
                corrected = [c for c in self._corrected_candidates(search) if c.key not in asked]
                corrected += self._ending_typo_candidates(search.normal)
                search.candidates += corrected
                more += [c.key for c in corrected]
        if more:
            found.update(self.line_lookup(more))
        return found

    def _one_value_kept(self, search: _TextSearch, whole: list[Candidate]) -> list[int]:
        """For a line found whole only with every value masked, the keys of the line with one
        value masked and the others kept: "A0170178 caused an invalid page fault in module
        EMSMDB32.DLL at" is what articles about any module say with two slots, and what the
        article about that module says with one."""
        signature = search.normal.signature
        masked = values_masked(signature)
        if masked == signature or any(c.signature != masked for c in whole):
            return []
        asked = {c.key for c in search.candidates}
        kept = [
            Candidate(line_key(variant), "slot", variant, frozenset(search.normal.terms))
            for variant in each_value_slotted(signature)
        ]
        kept = [c for c in kept if c.key not in asked]
        search.candidates += kept
        return [c.key for c in kept]

    def _best_hits(
        self,
        searches: list[_TextSearch],
        found: Found,
        known: list[RankedIssue],
    ) -> dict[str, dict[int, tuple[float, Evidence, int]]]:
        """Per article, the evidence of each of its lines that a paste line matched best:
        (weight, evidence, issue number) by line key."""
        # (paste line, article) -> the symptom evidence already found for it
        covered = {(e.line, r.article_id): e for r in known for e in r.evidence}
        # article -> line key -> the paste line it explains best: one article line explains
        # one paste line.
        best: dict[str, dict[int, tuple[float, Evidence, int]]] = {}
        for search in searches:
            budget.check("weighing what the articles' text matched")
            per_article: dict[str, tuple[float, Evidence, int]] = {}
            hits = [(c, found[c.key]) for c in search.candidates if c.key in found]
            said = _said_by(hits) if 1 < len(hits) <= SAID_BY_MAX_HITS else None
            for number, (candidate, (total, articles)) in enumerate(hits):
                if said is not None:
                    total = said[number]
                quality = TEXT_QUALITY[candidate.how]
                if candidate.how == "contained":
                    quality *= 0.5 + 0.5 * candidate.coverage
                if candidate.typo:
                    quality *= TYPO_QUALITY
                weight = quality * self._content_factor(candidate.terms) * shared_factor(total)
                weight *= descriptive_factor(search.line)
                if weight <= 0:
                    continue
                for article_id, issue_number in articles:
                    symptom = covered.get((search.line.number, article_id))
                    if symptom is not None:
                        # The symptom stays the explanation; the article's text may say the
                        # line better (a misspelt word put right), and then it counts so.
                        symptom.weight = max(symptom.weight, weight)
                        continue
                    current = per_article.get(article_id)
                    if current is not None and current[0] >= weight:
                        continue
                    evidence = Evidence.of(
                        search.line,
                        "",
                        _how(candidate),
                        round(min(1.0, quality / TEXT_QUALITY["normalised"]), 3),
                        weight,
                        line_key=candidate.key,
                        shared_by=total,
                        key_words=tuple(
                            sorted(candidate.terms, key=self.content_idf, reverse=True)[:2]
                        ),
                    )
                    per_article[article_id] = (weight, evidence, issue_number)
            for article_id, entry in per_article.items():
                keyed = best.setdefault(article_id, {})
                current = keyed.get(entry[1].line_key)
                if current is None or current[0] < entry[0]:
                    keyed[entry[1].line_key] = entry
        return best

    def _typo_candidates(
        self, normal: NormalizedLine, typed: bool = False, first_lines: bool = False
    ) -> list[Candidate]:
        """The whole line with one word the issues' texts never use put right, every way one
        edit allows; the lookup itself tells which of them some article says.

        In a `typed` (short) paste, misspelt file names are put right too, and in its
        `first_lines`, when a line has no such word, the rarest word no symptom writes so is
        tried instead: a slip can make another word's stem ("sever" is how "several" stems).
        """
        if len(normal.terms) < 2:
            return []
        tokens = normal.signature.split()
        # Rare rather than unseen: among thousands of articles a few misspell any word.
        rarity = {
            i: self.df("content", stem(token))
            for i, token in enumerate(tokens)
            if TYPO_MIN_LETTERS <= len(token) <= TYPO_MAX_LETTERS and token.isalpha()
        }
        # A file's name is a word too ("smspfrf.dll" for "smsperf.dll"): its name is put right,
        # its extension kept. In a short paste only: a long log names many files no article
        # does, and each would bring its hundreds of variants.
        files = {
            i: match.groups()
            for i, token in enumerate(tokens)
            if typed and (match := FILE_NAME.fullmatch(token)) is not None
        }
        rarity.update((i, self.df("content", name)) for i, (name, _) in files.items())
        # Words no issue uses first: "Xircom PCMCIA nework" misspells "nework", not the names.
        unknown = sorted((i for i, df in rarity.items() if df <= TYPO_RARE_ISSUES), key=rarity.get)
        if typed and first_lines and not unknown:
            unwritten = [i for i in rarity if not self.df("terms", tokens[i])]
            unknown = sorted(unwritten, key=rarity.get)[:1]
        terms = frozenset(normal.terms)
        # The line as it is, and with its values as the placeholders an article writes
        # ("Unale to open file A0138410." is "Unable to open file <filename>.").
        shapes = [tokens]
        # Only names with a number in them (an id, a host): a count is already tried as a slot
        # whole-line, and doubling every log line's variants would double their cost.
        general = [SLOT if is_name_with_number(t) else t for t in tokens]
        if general != tokens:
            shapes.append(general)
        out = []
        # The issues' texts do not hold every word an article uses, so a word they lack may
        # be spelt right: the first few such words are each tried as the misspelt one.
        for i in unknown[:TYPO_WORDS_PER_LINE]:
            # The word put right is a word, never a placeholder: only the tokens on either side
            # of it are collapsed, once, and each variant is joined between them.
            sides = []
            for shape in shapes:
                left, right = collapsed(shape[:i]), collapsed(shape[i + 1 :])
                sides.append((f"{left} " if left else "", f" {right}" if right else ""))
            name, extension = files.get(i, (tokens[i], ""))
            for variant in one_edit_variants(name):
                variant += extension
                for left, right in sides:
                    signature = f"{left}{variant}{right}"
                    out.append(
                        Candidate(line_key(signature), "normalised", signature, terms, False, True)
                    )
        return out

    def _ending_typo_candidates(self, normal: NormalizedLine) -> list[Candidate]:
        """The whole line with a misspelt ending put right, where the stemmer hides the slip
        ("resourcs" stems as "resources" does, so the issues' texts seem to use it): words no
        symptom uses in that form are tried with each edit after their stem."""
        tokens = normal.signature.split()
        terms = frozenset(normal.terms)
        out: list[Candidate] = []
        tried = 0
        for i, token in enumerate(tokens):
            if not TYPO_MIN_LETTERS < len(token) <= TYPO_MAX_LETTERS or not token.isalpha():
                continue
            if self.df("terms", token):
                continue
            root = stem(token)
            if self.df("content", root) <= TYPO_RARE_ISSUES:
                continue  # tried whole by _typo_candidates
            for variant in one_edit_variants(token, start=max(1, len(root) - 1)):
                signature = " ".join([*tokens[:i], variant, *tokens[i + 1 :]])
                out.append(
                    Candidate(line_key(signature), "normalised", signature, terms, typo=True)
                )
            tried += 1
            if tried >= TYPO_WORDS_PER_LINE:
                break
        return out

    def _unknown_names(self, normal: NormalizedLine) -> frozenset[str]:
        """The words of a line that neither a symptom nor an issue's text uses, at most
        SPAN_MAX_NAMES of them: more likely a name than a word."""
        names = [
            t
            for t in normal.terms
            if t.isalnum() and not self.df("terms", t) and not self.df("content", stem(t))
        ]
        return frozenset(names[:SPAN_MAX_NAMES])

    def _has_unseen_word(self, message: str) -> bool:
        """Whether a line has a word of 4+ letters that no issue's text uses."""
        return any(
            len(word) <= TYPO_MAX_LETTERS and not self.df("content", stem(word.lower()))
            for word in re.findall(r"[A-Za-z]{4,}", message)
        )

    def _corrected_candidates(self, search: _TextSearch) -> list[Candidate]:
        """Every candidate of the line with one unknown word replaced by a word one edit away
        that the issues' texts use (the few most used such words)."""
        out: list[Candidate] = []
        message = search.line.message
        tried = 0
        for word in dict.fromkeys(re.findall(r"[A-Za-z]{4,}", message)):
            if len(word) > TYPO_MAX_LETTERS or self.df("content", stem(word.lower())):
                continue
            tried += 1
            if tried > TYPO_CORRECTED_WORDS:
                break
            budget.check("putting misspelt words right")
            # Hundreds of variants, nearly all no word at all: asked of the issues' vocabulary
            # together rather than one lookup each.
            stems = {variant: stem(variant) for variant in one_edit_variants(word.lower())}
            present = self.terms_present("content", stems.values())
            known = [variant for variant, root in stems.items() if root in present]
            if not known:
                continue
            known.sort(key=lambda v: self.df("content", stems[v]), reverse=True)
            for best in known[:TYPO_CORRECTIONS_PER_WORD]:
                fixed = re.sub(rf"\b{word}\b", best, message, count=1)
                out += [
                    Candidate(c.key, c.how, c.signature, c.line_terms, c.quoted, typo=True)
                    for c in line_candidates(fixed, spans=True)
                ]
            if len(out) > TYPO_CORRECTED_CANDIDATES:
                break
        return out

    def _evidence_score(
        self, evidence: list[Evidence], weigh: Callable[[Evidence], float]
    ) -> float:
        """An issue's evidence summed, what users taught adding at most LEARNED_CAP, and at most
        LEARNED_ALONE more than the rest.

        Paste lines that differ only in their numbers ("Sleeping for 120 seconds", "Sleeping
        for 60 seconds") are one message the log repeated: they count once, by the best.
        """
        evidence = _one_per_shape(evidence, weigh)
        if not self.learned:
            return evidence_sum(weigh(e) for e in evidence)
        taught = [weigh(e) for e in evidence if e.symptom_id in self.learned]
        said = evidence_sum(weigh(e) for e in evidence if e.symptom_id not in self.learned)
        return said + min(sum(taught), LEARNED_CAP, said + LEARNED_ALONE)

    def _source_factor(self, symptom: _Symptom) -> float:
        """What users taught weighs less than what an article says."""
        return LEARNED_FACTOR if symptom.symptom_id in self.learned else 1.0

    def _specificity(self, symptom: _Symptom, issues_sharing: int) -> float:
        # Rare among symptoms is not enough: a short symptom of words every article uses
        # ("Reading configuration......") is as generic as a log line can be.
        information = min(1.0, symptom.information / FULL_INFORMATION)
        return min(information, self._content_factor(symptom.terms)) * shared_factor(issues_sharing)

    def _signature_evidence(self, line: PasteLine) -> list[tuple[_Symptom, Evidence]]:
        docnums = self.postings("signature", signature_key(line.signature))
        if not docnums:
            return []
        exact_key = line.exact_key
        symptoms = [self.symptom(d) for d in docnums]
        issues_sharing = len({s.issue_id for s in symptoms})
        found = []
        for symptom in symptoms:
            how = "exact" if symptom.exact == exact_key else "normalised"
            weight = QUALITY[how] * self._specificity(symptom, issues_sharing)
            weight *= descriptive_factor(line) * self._source_factor(symptom)
            evidence = Evidence.of(
                line, symptom.symptom_id, how, 1.0, weight, shared_by=issues_sharing
            )
            found.append((symptom, evidence))
        return found

    def _partial_evidence(
        self, line: PasteLine, quoted: bool = False
    ) -> list[tuple[_Symptom, Evidence]]:
        """The symptoms sharing most of the line's rarer words; with `quoted`, of the words of
        the first parts of the line between quotation marks that find any."""
        component = (line.record.component or "").lower()
        candidates: list[tuple[int, float]] = []
        if quoted:
            parts = islice(quoted_parts(line.message), QUOTED_PARTS_PER_LINE)
            for normal in (normalize(part[:MAX_QUOTED_PART_CHARS]) for part in parts):
                candidates = self._partial_candidates(normal, component)
                if candidates:
                    break
        else:
            key = (line.signature, component)
            candidates = self._partials.get(key)
            if candidates is None:
                candidates = self._partial_candidates(line.normal, component)
                self._partials[key] = candidates
        found = []
        issues_sharing = len(candidates)
        for docnum, similarity in candidates:
            symptom = self.symptom(docnum)
            # Steeply: a line that shares most words with a symptom is often another message.
            weight = PARTIAL_QUALITY * similarity**2 * self._specificity(symptom, issues_sharing)
            weight *= descriptive_factor(line) * self._source_factor(symptom)
            evidence = Evidence.of(
                line,
                symptom.symptom_id,
                "partial",
                round(similarity, 3),
                weight,
                shared_by=issues_sharing,
            )
            found.append((symptom, evidence))
        return found

    def _partial_candidates(
        self, normal: NormalizedLine, component: str
    ) -> list[tuple[int, float]]:
        """The best partially matching symptom per issue, with its similarity to the line."""
        known = [t for t in normal.terms if self.idf(t) > 0]
        # A short line is a message whole or not at all: two words of three in common with a
        # symptom ("Sleeping for 97 seconds", "Sleeping for 60 seconds...") is another line.
        if len(known) < 2 or len(normal.terms) < PARTIAL_MIN_TERMS:
            return []
        generic_df = max(GENERIC_MIN_DF, int(self._symptom_count * GENERIC_SHARE))
        rare = sorted(known, key=self.idf, reverse=True)[:RARE_TERMS_PER_LINE]
        # Symptoms with two of the rare words or more, found by intersecting sets (in C): the
        # postings of a long paste's lines add up to tens of thousands of symptoms.
        postings = [
            set(self.postings("terms", term))
            for term in rare
            if self.df("terms", term) <= generic_df
        ]
        shared: set[int] = set()
        for i, first in enumerate(postings):
            if len(rare) < 2:
                shared |= first
            for second in postings[i + 1 :]:
                shared |= first & second
        if not shared:
            return []
        # In the order of the first rare word's postings having them, then by number, as
        # counting the postings in turn would meet them: ties keep their first symptom.
        sharing = sorted(
            shared, key=lambda d: (next(i for i, p in enumerate(postings) if d in p), d)
        )
        line_terms = set(normal.terms)
        line_information = self.information(tuple(line_terms))
        best: dict[str, tuple[float, _Symptom]] = {}
        for docnum in sharing:
            symptom = self.symptom(docnum)
            if not symptom.terms:
                continue
            shared = line_terms.intersection(symptom.terms)
            if len(shared) < 2:
                continue
            shared_information = self.information(tuple(shared))
            recall = shared_information / max(symptom.information, 1e-9)
            precision = shared_information / max(line_information, 1e-9)
            # Both count alike: a line with words the symptom lacks is often another message,
            # and a known message inside a longer line is found whole by the text pass.
            similarity = 2 * precision * recall / (precision + recall)
            if component and symptom.component == component:
                similarity = min(1.0, similarity + 0.05)
            if similarity < PARTIAL_MIN_SIMILARITY:
                continue
            current = best.get(symptom.issue_id)
            if current is None or similarity > current[0]:
                best[symptom.issue_id] = (similarity, symptom)
        return [(symptom.docnum, similarity) for similarity, symptom in best.values()]

    def _prose_evidence(
        self,
        issues_of: Callable[[str], dict[str, RankedIssue]],
        messages: list[str],
        also: tuple[str, ...] = (),
    ) -> None:
        """Coverage of the paste's prose by the descriptions of the issues the full-text search
        offers for its rarest words, and of the issues of the articles `also` names."""
        # stem -> a word of the text it stands for (full-text search stems words itself), and
        # that word as the paste writes it: an answer shows people words, never stems.
        words: dict[str, str] = {}
        written: dict[str, str] = {}
        for token in _prose_analyzer("\n".join(messages), chars=True, keeporiginal=True):
            budget.check("reading the paste's prose")
            if not token.text.isdigit():
                words.setdefault(token.text, token.original.lower())
                written.setdefault(token.text, token.original)
        issue_count = max(1, self.df("doc_type", "issue"))
        weights: dict[str, float] = {}
        unseen: list[str] = []
        for term in words:
            df = self.df("content", term)
            if df:
                weights[term] = math.log(1 + issue_count / df)
            else:
                unseen.append(term)
        if not weights or self.store is None:
            return
        chosen = sorted(weights, key=weights.get, reverse=True)[:PROSE_TERMS]
        # A word the KB never uses still says the text is about something else: it counts
        # against coverage as much as a typical known word.
        typical = sorted(weights.values())[len(weights) // 2]
        unseen_share = len(unseen) * len(chosen) / max(1, len(weights))
        total = sum(weights[t] for t in chosen) + typical * unseen_share
        # Candidates come from the store's full-text search (in C: a Whoosh query of common
        # words scores every issue that has one, seconds on a large KB), asked for the rarest
        # words; their issues are then measured against all the chosen words.
        candidates = self.store.articles_ranked(
            [words[t] for t in chosen[:PROSE_SEARCH_TERMS]], PROSE_CANDIDATES
        )
        candidates = list(dict.fromkeys([*candidates, *also]))
        issues = [
            docnum
            for a in candidates
            for docnum in issue_documents(self.searcher, self.postings("article_id", a))
        ]
        having = documents_having(self.reader, chosen, sorted(issues))
        for docnum in issues:
            fields = self.searcher.stored_fields(docnum)
            matched = sorted(t for t in chosen if docnum in having[t])
            coverage = sum(weights.get(t, 0.0) for t in matched) / total
            # A handful of words is covered by many texts by chance; a description is longer.
            coverage *= min(1.0, len(chosen) / PROSE_FULL_TERMS)
            length = fields.get("length") or PROSE_REFERENCE_LENGTH
            coverage *= min(1.0, (PROSE_REFERENCE_LENGTH / length) ** 0.5)
            if coverage < PROSE_MIN_COVERAGE:
                continue
            article_id = fields["article_id"]
            ranked = issues_of(article_id).setdefault(
                fields["issue_id"], RankedIssue(fields["issue_id"], article_id)
            )
            ranked.text_coverage = round(coverage, 3)
            # Rarest first (the order of `chosen`): the words that say most come first.
            ranked.text_terms = [written[t] for t in chosen if docnum in having[t]]


def _said_by(hits: list[tuple[Candidate, Any]]) -> list[int]:
    """How many articles say what each candidate of one line found: at least as many as say
    any longer text of the line holding all its words.

    The line index counts the articles that have a piece as a line of its own; those that
    say it inside a longer line ("... service on \\\\<server>" where one article's wrap left
    "... service on" alone) are counted by the longer text's key. Counted alone, a piece that
    a wrap cut out of one article would tell that article apart from the others, and outweigh
    the whole line they all say.
    """
    sized = [(frozenset(c.terms), len(c.signature), total) for c, (total, _) in hits]
    said = []
    for terms, size, total in sized:
        for other_terms, other_size, other_total in sized:
            if other_total > total and other_size > size and terms <= other_terms:
                total = other_total
        said.append(total)
    return said


def _discount_routine_lines(issues: list[RankedIssue], lines: dict[str, PasteLine]) -> None:
    """When some line of the paste that reports a problem matched, an issue whose only
    evidence is a line reporting none counts it for less: a log is pasted for what went wrong
    in it, and its routine lines ("Sleeping for 60 seconds", "Service started") are quoted in
    articles about anything that happened around them. Routine lines that several lines of the
    paste agree on (an issue recording two of them) are evidence as they were."""

    def routine(e: Evidence) -> bool:
        line = lines.get(e.signature)
        return line is not None and not line.reports_problem

    if not any(not routine(e) for ranked in issues for e in ranked.evidence):
        return
    seen: set[int] = set()
    for ranked in issues:
        if len({e.signature for e in ranked.evidence}) != 1:
            continue
        for e in ranked.evidence:
            # Each piece once, should two issues hold the same one.
            if routine(e) and id(e) not in seen:
                seen.add(id(e))
                e.weight *= ROUTINE_LINE_FACTOR


def descriptive_factor(line: PasteLine) -> float:
    """What a line counts for when it describes a machine rather than reports a problem."""
    return DESCRIPTIVE_LINE_FACTOR if line.descriptive else 1.0


def _how(candidate: Candidate) -> str:
    """How a text match is named in an answer: `typo` when a word had to be put right."""
    if candidate.typo:
        return "typo"
    return "normalised" if candidate.how == "slot" else candidate.how


def _one_per_shape(evidence: list[Evidence], weigh: Callable[[Evidence], float]) -> list[Evidence]:
    """The best evidence of each shape of paste line (its signature, numbers masked)."""
    if len(evidence) < 2:
        return evidence
    best: dict[str, Evidence] = {}
    for e in evidence:
        shape = numbers_masked(e.signature)
        kept = best.get(shape)
        if kept is None or weigh(e) > weigh(kept):
            best[shape] = e
    return list(best.values())


def evidence_sum(weights: Iterable[float]) -> float:
    """Evidence summed, weak evidence (boilerplate) together counting at most a capped amount."""
    strong = weak = 0.0
    for weight in weights:
        if weight >= WEAK_EVIDENCE:
            strong += weight
        else:
            weak += weight
    return strong + min(weak, WEAK_EVIDENCE_CAP)


def distinct_factor(sharing: int) -> float:
    """How much of a line's weight says "this one" rather than "one of these": two articles
    documenting the same message still point at one problem; a dozen do not."""
    return min(1.0, 2.0 / max(1, sharing))


def shared_factor(sharing: int) -> float:
    """How much a line said by `sharing` issues or articles still tells them apart.

    Gently falling: a message documented in a handful of articles still answers with those
    articles (other lines and the rest decide between them), while a line hundreds of
    articles say is boilerplate and counts for little.
    """
    return 1.0 / (1.0 + 0.5 * math.log(max(1, sharing)))


def one_edit_variants(word: str, start: int = 0) -> set[str]:
    """Every word one deletion, transposition, replacement or insertion away from `word`, the
    edit at position `start` or later."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(start, len(word) + 1)]
    variants = {a + b[1:] for a, b in splits if b}
    variants |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    variants |= {a + c + b[1:] for a, b in splits if b for c in letters}
    variants |= {a + c + b for a, b in splits for c in letters}
    variants.discard(word)
    return variants


class _TextSearch:
    """What one paste line asks of the article-line keys, and what it found."""

    def __init__(self, line: PasteLine) -> None:
        self.line = line
        self.normal = line.normal
        self.candidates: list[Candidate] = []

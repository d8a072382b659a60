"""The Whoosh index: what matching and search need of each article, kept beside the store.

Two kinds of document live in one index:
- symptom: one per symptom record, with its normalised line signature (looked up exactly) and
  its distinctive terms (for partial matches);
- issue: the prose a person would use to describe the issue (title, description, conditions).
Whole-article full-text search is not here: it lives in the store (SQLite FTS5).

Only one writer may run at a time (a file lock guards it); request handlers only read, through a
searcher that is kept open and refreshed when the index changes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import SpaceSeparatedTokenizer, StemmingAnalyzer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from service import budget
from service.article_text import LINE_KEYS_FORMAT, line_key
from service.normalize import normalize, parse_line, signature_key, simplify
from service.storage import Store, key_filter
from service.storage import lines as line_index
from service.storage.lines import LineReader

INDEX_NAME = "kb"
STATE_FILE = "state.json"
# Held (shared) by every running import, for as long as it runs.
IMPORT_LOCK = "import.lock"

log = logging.getLogger(__name__)


# Bumped whenever the schema or what goes into it changes; an index of another format is rebuilt.
# The line keys' own format is part of it: keys made another way need the line index rebuilt.
INDEX_FORMAT = f"4.{LINE_KEYS_FORMAT}"


def build_schema() -> Schema:
    # Only what lookups need is indexed; the rest is stored, which costs far less to write.
    return Schema(
        doc_id=STORED(),
        doc_type=ID(),
        article_id=ID(stored=True),
        issue_id=STORED(),
        signature=ID(),
        exact=STORED(),
        terms=TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=False),
        terms_stored=STORED(),
        component=STORED(),
        log_files=STORED(),
        content=TEXT(analyzer=StemmingAnalyzer(), phrase=False),
        length=STORED(),
    )


# Fields of symptom documents whose terms a filter beside the index says are absent: most lines
# of a paste are no symptom and most of their words are in none, and a term the index lacks
# costs as much to look up in Whoosh as one it has (a hash and a table probe per segment).
FILTERED_FIELDS = frozenset({"signature", "terms"})
TERMS_PREFIX = "terms-"


def terms_filter_file(directory: Path, generation: str) -> Path:
    """The filter of the symptom terms of one index generation."""
    return directory / f"{TERMS_PREFIX}{generation}.filter"


def term_key(field_name: str, term: str) -> int:
    """A signed 64-bit key for a term of a field, as the filter holds it: made as a line's
    key is."""
    return line_key(f"{field_name}\0{term}")


def filtered_term_keys(document: dict[str, Any]) -> list[int]:
    """The keys of an index document's terms in FILTERED_FIELDS (symptoms have them)."""
    keys = []
    if "signature" in document:
        keys.append(term_key("signature", document["signature"]))
    keys += [term_key("terms", term) for term in document.get("terms", "").split()]
    return keys


def symptom_document(row: Any) -> dict[str, Any]:
    """The index entry of one symptom: its line as the matcher will see it."""
    message, component, _ = parse_line(row["text"])
    normal = normalize(message)
    log_files = row["log_files"]
    if isinstance(log_files, str):
        log_files = json.loads(log_files)
    return {
        "doc_id": f"symptom:{row['id']}",
        "doc_type": "symptom",
        "article_id": row["article_id"],
        "issue_id": row["issue_id"],
        "signature": signature_key(normal.signature),
        "exact": signature_key(simplify(message)),
        "terms": " ".join(normal.terms),
        "terms_stored": " ".join(normal.terms),
        "component": (component or "").lower(),
        "log_files": ",".join(f.lower() for f in log_files),
    }


def issue_document(row: Any) -> dict[str, Any]:
    content = "\n".join(
        part
        for part in (row["article_title"], row["title"], row["description"], row["conditions"])
        if part
    )
    return {
        "doc_id": f"issue:{row['id']}",
        "doc_type": "issue",
        "article_id": row["article_id"],
        "issue_id": row["id"],
        "content": content,
        # words in the issue text: a long text covers any query by chance, so coverage is damped
        "length": len(content.split()),
    }


def documents_for_article(store: Store, article_id: str) -> Iterator[dict[str, Any]]:
    """Every index document of one stored article."""
    for row in store.issue_texts(article_id):
        yield issue_document(row)
    for row in store.symptom_lines(article_id):
        yield symptom_document(row)
    for row in store.learned_lines(article_id):
        yield symptom_document(row)


def _forked_all(writer: Any) -> bool:
    """Whether a Whoosh writer has started all the processes it will start: a multi-process
    writer forks them as its first batches of documents come, and a fork must not happen while
    another thread of this process is at work (the child would inherit whatever that thread
    held). A writer of one process forks none."""
    tasks = getattr(writer, "tasks", None)
    return tasks is None or len(tasks) >= getattr(writer, "procs", 0)


def all_documents(store: Store) -> Iterator[dict[str, Any]]:
    """Every index document of the whole store, read in three passes rather than per article."""
    for row in store.issue_texts():
        yield issue_document(row)
    for row in store.symptom_lines():
        yield symptom_document(row)
    for row in store.learned_lines():
        yield symptom_document(row)


def article_documents(searcher: Searcher, article_id: str) -> list[int]:
    """The index documents of an article (its issues and symptoms), in order."""
    reader = searcher.reader()
    if ("article_id", article_id) not in reader:
        return []
    return list(reader.postings("article_id", article_id).all_ids())


def issue_documents(searcher: Searcher, docnums: Iterable[int]) -> list[int]:
    """Of an article's index documents, those of its issues (not its symptoms)."""
    # Only issue documents store their length.
    return [docnum for docnum in docnums if "length" in searcher.stored_fields(docnum)]


def documents_having(
    reader: IndexReader, terms: list[str], docnums: list[int]
) -> dict[str, set[int]]:
    """Which of `docnums` (sorted) have each term in their content, skipping through each
    term's postings rather than reading them whole."""
    having: dict[str, set[int]] = {}
    for term in terms:
        found: set[int] = set()
        if ("content", term) in reader:
            postings = reader.postings("content", term)
            for docnum in docnums:
                if not postings.is_active():
                    break
                if postings.id() < docnum:
                    postings.skip_to(docnum)
                if postings.is_active() and postings.id() == docnum:
                    found.add(docnum)
        having[term] = found
    return having


def advance_state(state: dict[str, Any], revisions: Iterable[int]) -> dict[str, Any]:
    """The index state once the writes of `revisions` are indexed.

    `revision` stays the highest one up to which every write is indexed; writes indexed past a
    gap wait in `ahead` until the gap is filled. A gap left by a process that died between its
    commit and its index update keeps `revision` behind the store's, so the next start repairs.
    """
    done = state.get("revision", -1)
    ahead = {r for r in [*state.get("ahead", []), *revisions] if r > done}
    while done + 1 in ahead:
        done += 1
        ahead.remove(done)
    return {**state, "revision": done, "ahead": sorted(ahead)}


@dataclass
class SegmentLookups:
    """What was read from one index segment, in the segment's own document numbers.

    Whoosh never changes a written segment; deletions only grow. So these stay true for as long
    as the segment is in the index with the same deletions, across searchers and commits.
    """

    # (field, term) -> document frequency
    df: dict[tuple[str, str], int] = field(default_factory=dict)
    # (field, term) -> document numbers within the segment
    postings: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def size(self) -> int:
        return len(self.df) + len(self.postings)


def _segment_key(leaf: Any) -> tuple[str, int] | None:
    """A segment's identity and state: its id and how many of its documents are deleted."""
    segment = getattr(leaf, "segment", None)
    current = segment() if segment is not None else None
    if current is None:  # an empty index has no segment (Whoosh's empty reader says None)
        return None
    return current.segment_id(), current.deleted_count()


@dataclass
class SearcherCaches:
    """Lookups against one searcher that requests share: pastes keep asking the same things.

    Term statistics and postings are also kept per segment, and a new searcher starts with
    those of the segments it still has: a commit that adds a segment (an article written, a
    batch of an import) costs reading that segment alone, not every lookup over again. Each
    cache is emptied when it grows past `limit` entries, so memory stays bounded.
    """

    limit: int = 200_000
    # (field, term) -> document frequency
    df: dict[tuple[str, str], int] = field(default_factory=dict)
    # (field, term) -> document numbers
    postings: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    # (line signature, component) -> (symptom document number, similarity) of partial matches
    partial: dict[tuple[str, str], list[tuple[int, float]]] = field(default_factory=dict)
    # (segment id, deleted documents) -> what was read from that segment
    segments: dict[tuple[str, int], SegmentLookups] = field(default_factory=dict)
    # What the ranker works out from this searcher alone, whatever the paste: a term's weight
    # among symptoms and among issues' texts, and a symptom's stored fields (by document number
    # and by id). Kept by service.matching.rank.
    symptom_idf: dict[str, float] = field(default_factory=dict)
    content_idf: dict[str, float] = field(default_factory=dict)
    symptoms: dict[int, Any] = field(default_factory=dict)
    symptoms_by_id: dict[str, Any] = field(default_factory=dict)
    # The reader the segments' lookups were last worked out for, and them.
    _leaf_lookups: tuple[Any, list[tuple[Any, int, SegmentLookups]]] | None = None
    # The filter of the symptom terms of the generation read, and its reader (None: no filter).
    term_filter: tuple[key_filter.FilterReader, Path] | None = None
    # (segment id, field) -> every term the segment has in that field, read whole when a lookup
    # asks about many terms at once (`terms_present`). Not emptied with the rest: a segment's
    # vocabulary holds each of its terms once, so together they are bounded by the index.
    vocabularies: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def _absent(self, field_name: str, term: str) -> bool:
        """Whether the filter says no symptom has `term` in `field_name`."""
        if self.term_filter is None or field_name not in FILTERED_FIELDS:
            return False
        filters, path = self.term_filter
        return not filters.may_hold(path, term_key(field_name, term))

    def trim(self) -> None:
        if len(self.symptoms) > self.limit:
            self.symptoms_by_id.clear()
        for cache in (
            self.df,
            self.postings,
            self.partial,
            self.symptom_idf,
            self.content_idf,
            self.symptoms,
        ):
            if len(cache) > self.limit:
                cache.clear()
        if sum(lookups.size() for lookups in self.segments.values()) > 2 * self.limit:
            self.segments.clear()
            self._leaf_lookups = None

    def carried_over(self, reader: Any) -> SearcherCaches:
        """Caches for a new searcher on `reader`, with the lookups of segments it still has."""
        keys = {_segment_key(leaf) for leaf, _ in reader.leaf_readers()}
        kept = {key: lookups for key, lookups in self.segments.items() if key in keys}
        # A segment's terms stay what they were written as, whatever is deleted later.
        ids = {key[0] for key in keys if key is not None}
        words = {key: terms for key, terms in self.vocabularies.items() if key[0] in ids}
        return SearcherCaches(
            limit=self.limit, segments=kept, term_filter=self.term_filter, vocabularies=words
        )

    def _leaves(self, reader: Any) -> list[tuple[Any, int, SegmentLookups]]:
        """The reader's segments, each with its lookups; worked out once per reader (every
        term lookup goes through them)."""
        kept = self._leaf_lookups
        if kept is not None and kept[0] is reader:
            return kept[1]
        leaves = []
        for leaf, offset in reader.leaf_readers():
            key = _segment_key(leaf)
            lookups = (
                SegmentLookups() if key is None else self.segments.setdefault(key, SegmentLookups())
            )
            leaves.append((leaf, offset, lookups))
        self._leaf_lookups = (reader, leaves)
        return leaves

    def doc_frequency(self, reader: Any, field_name: str, term: str) -> int:
        """How many documents have `term` in `field_name`, summed over the segments."""
        key = (field_name, term)
        value = self.df.get(key)
        if value is None:
            value = 0
            for leaf, _, lookups in [] if self._absent(field_name, term) else self._leaves(reader):
                found = lookups.df.get(key)
                if found is None:
                    found = lookups.df[key] = leaf.doc_frequency(field_name, term)
                value += found
            self.df[key] = value
        return value

    def terms_present(self, reader: Any, field_name: str, terms: Iterable[str]) -> set[str]:
        """Those of `terms` that some document has in `field_name` (a document frequency
        above 0), deleted documents counting as `doc_frequency` counts them.

        For many terms at once, such as every word one edit away from a misspelt one: each
        segment's terms of the field are read whole, once, and each term costs a set probe
        instead of a table lookup in every segment.
        """
        wanted = set(terms)
        present: set[str] = set()
        for leaf, _, _ in self._leaves(reader):
            present |= wanted & self._vocabulary(leaf, field_name)
        return present

    def _vocabulary(self, leaf: Any, field_name: str) -> frozenset[str]:
        segment = _segment_key(leaf)
        key = (segment[0], field_name) if segment is not None else None
        words = self.vocabularies.get(key) if key is not None else None
        if words is None:
            words = frozenset(term.decode("utf-8") for term in leaf.lexicon(field_name))
            if key is not None:
                self.vocabularies[key] = words
        return words

    def postings_of(self, reader: Any, field_name: str, term: str) -> list[int]:
        """The searcher's document numbers having `term` in `field_name`, deleted ones left out."""
        key = (field_name, term)
        value = self.postings.get(key)
        if value is None:
            value = []
            absent = self._absent(field_name, term)
            for leaf, offset, lookups in [] if absent else self._leaves(reader):
                local = lookups.postings.get(key)
                if local is None:
                    # The reader's postings need no scorer, unlike the searcher's.
                    local = list(leaf.postings(field_name, term).all_ids()) if key in leaf else []
                    lookups.postings[key] = local
                value.extend(docnum + offset for docnum in local)
            self.postings[key] = value
        return value


def _generation(filename: str) -> str:
    """The index name a file belongs to.

    Whoosh names its files `_<name>_<n>.toc`, `<name>_<segment>.seg` and `<name>_WRITELOCK`;
    the line index is `lines-<name>.sqlite3` (and its `-wal`, `-shm` and `.filter`), the
    filter of the symptom terms `terms-<name>.filter`.
    """
    for prefix in (line_index.LINES_PREFIX, TERMS_PREFIX):
        if filename.startswith(prefix):
            return filename[len(prefix) :].split(".", 1)[0]
    stem = filename[1:] if filename.startswith("_") else filename
    return stem.split("_", 1)[0]


def _indexed_term_keys(ix: whoosh_index.Index) -> tuple[int, list[int]]:
    """`remake` for a terms filter: the keys of every term the index has in FILTERED_FIELDS."""
    with ix.reader() as reader:
        keys = [
            term_key(field_name, term.decode("utf-8"))
            for field_name in sorted(FILTERED_FIELDS)
            for term in reader.lexicon(field_name)
        ]
    return len(keys), keys


def _lookup_budget() -> None:
    budget.check("looking up lines in the articles' text")


@dataclass
class Reading:
    """One searcher and what is paired with it: the generation its line index is read from
    and the lookups requests shared against it. Replaced whole, never changed in place."""

    searcher: Searcher
    generation: str
    caches: SearcherCaches


class KBIndex:
    """The on-disk index under `<KB_HOME>/index`, with one shared, refreshed searcher.

    A refresh opens the new searcher first and only then retires the one in use: opening can
    fail while a writer commits (Whoosh deletes the files of merged segments and of older
    tables of contents, which a reader may have listed a moment before), and a failed refresh
    must leave the current searcher answering, to be tried again at the next check.
    """

    REFRESH_SECONDS = 1.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._reading: Reading | None = None
        self._checked_at = 0.0
        # The searcher before the current one: closed at the next change, not while a request
        # that started with it may still be reading.
        self._retired: Searcher | None = None
        self._lock = threading.Lock()
        # Per thread, the reading this thread was last handed: its line lookups and caches
        # stay those of its searcher even when another thread refreshes in between.
        self._local = threading.local()
        # Since when (monotonic) refreshing has failed; None while refreshes succeed.
        self.refresh_failing_since: float | None = None
        self.refresh_failures = 0
        self.lines = LineReader(self.path)
        self.term_filters = key_filter.FilterReader()

    # A rebuild writes a new generation (a Whoosh index of another name in the same folder) and
    # switches `name` in the state file once it is committed: readers keep answering from the
    # old generation meanwhile, and a rebuild that dies leaves the old one in place.

    def current_name(self) -> str:
        """The generation readers and writers use now."""
        return self.read_state().get("name", INDEX_NAME)

    def exists(self) -> bool:
        return self.path.exists() and whoosh_index.exists_in(
            str(self.path), indexname=self.current_name()
        )

    def open(self, name: str | None = None) -> whoosh_index.Index:
        return whoosh_index.open_dir(str(self.path), indexname=name or self.current_name())

    def _new_generation(self) -> str:
        """Create an empty index of a name not used before; returns the name."""
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{INDEX_NAME}{time.time_ns()}"
        whoosh_index.create_in(str(self.path), build_schema(), indexname=name)
        return name

    def _drop_old_generations(self, keep: set[str]) -> None:
        """Delete the files of generations other than `keep`.

        The generation just replaced is kept until the next rebuild: a searcher opened on it a
        moment ago may still be answering a request.
        """
        for path in self.path.iterdir():
            generation = _generation(path.name)
            if generation.startswith(INDEX_NAME) and generation not in keep and path.is_file():
                path.unlink(missing_ok=True)

    # -- state: which store revision the index reflects ----------------------------------

    def read_state(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {"revision": -1}

    def write_state(self, state: dict[str, Any]) -> None:
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.path / STATE_FILE)

    # -- writing --------------------------------------------------------------------------

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer at a time across processes."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / "write.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def importing(self) -> Iterator[None]:
        """Mark an import as running while the block runs; the mark dies with the process."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / IMPORT_LOCK, "a") as handle:
            # Shared: imports may run side by side; readiness only asks whether any does.
            fcntl.flock(handle, fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def import_running(self) -> bool:
        """Whether an import (in any process) is running now."""
        try:
            fd = os.open(self.path / IMPORT_LOCK, os.O_RDONLY)
        except OSError:
            return False  # no import ever ran here
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def rebuild(self, store: Store, procs: int = 1) -> int:
        """Index every article in the store from scratch; returns the number of documents.

        With `procs` > 1 Whoosh analyses documents in that many processes and leaves one
        segment per process, which is what a bulk import wants once parsing is done.
        """
        with self.write_lock():
            revision = store.revision()
            previous = self.read_state()
            name = self._new_generation()
            ix = self.open(name)
            if procs > 1:
                writer = ix.writer(procs=procs, limitmb=256, multisegment=True)
            else:
                writer = ix.writer(limitmb=256)
            count = 0
            term_keys: list[int] = []
            # The line index is a file of its own, made from the store on a connection of its
            # own: it is built in a thread beside Whoosh's writing rather than after it, its
            # sort running in SQLite while Whoosh's processes analyse. Leaving the block waits
            # for it.
            with ThreadPoolExecutor(1, thread_name_prefix="line-index") as beside:
                lines_built: Future[int] | None = None

                def build_lines() -> Future[int]:
                    return beside.submit(line_index.build, self.path, name, store.iter_line_keys())

                try:
                    for document in all_documents(store):
                        writer.add_document(**document)
                        term_keys += filtered_term_keys(document)
                        count += 1
                        if lines_built is None and _forked_all(writer):
                            lines_built = build_lines()
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                key_filter.write(terms_filter_file(self.path, name), term_keys, len(term_keys))
                (lines_built or build_lines()).result()
            self.write_state({"revision": revision, "format": INDEX_FORMAT, "name": name})
            self._drop_old_generations({name, previous.get("name", INDEX_NAME)})
        self._checked_at = 0.0  # this process wrote: its own next read must see the write
        return count

    def ensure_filters(self) -> bool:
        """Give the line index and the symptom terms their filters when they have none (an
        index written before there were filters); whether one was made."""
        with self.write_lock():
            name = self.current_name()
            made = line_index.ensure_filter(self.path, name)
            path = terms_filter_file(self.path, name)
            if self.exists() and not path.exists():
                held, keys = _indexed_term_keys(self.open(name))
                key_filter.write(path, keys, held)
                made = True
            return made

    def update_articles(
        self,
        store: Store,
        writes: Iterable[tuple[str, int | None]],
        new_ids: Iterable[str] = (),
    ) -> int:
        """Re-index the articles of committed `writes`, (article id, revision) pairs; deleted
        articles drop out. Returns documents written.

        Articles in `new_ids` were never indexed, so there is nothing of theirs to delete. Only
        the revisions of these writes are recorded as indexed (a write without a revision is
        always indexed, and records none).
        """
        writes = list(writes)
        with self.write_lock():
            state = self.read_state()
            indexed = state.get("revision", -1)
            ahead = set(state.get("ahead", ()))
            # A write another indexer of this node (its follower, another worker) took in
            # between the write's commit and now is in the index as the store has it: indexing
            # it again would leave deleted documents behind, which still count in Whoosh's term
            # statistics and so shift this node's scores away from another node's.
            done = {a for a, r in writes if r is not None and (r <= indexed or r in ahead)}
            writes = [(a, r) for a, r in writes if r is None or not (r <= indexed or r in ahead)]
            if not writes:
                # In the index already; this process's next read must still see them.
                self._checked_at = 0.0
                return 0
            # Once each: an article named twice (and new) would otherwise be added twice.
            article_ids = list(dict.fromkeys(a for a, _ in writes))
            revisions = [r for _, r in writes if r is not None]
            # New, unless an earlier write of it is indexed already.
            fresh = set(new_ids) - done
            ix = self.open()
            writer = ix.writer(limitmb=128)
            count = 0
            term_keys: list[int] = []
            try:
                for article_id in article_ids:
                    if article_id not in fresh:
                        writer.delete_by_term("article_id", article_id)
                    for document in documents_for_article(store, article_id):
                        writer.add_document(**document)
                        term_keys += filtered_term_keys(document)
                        count += 1
                # Before the commit: a reader that sees the documents must find their terms
                # let through.
                key_filter.add(
                    terms_filter_file(self.path, self.current_name()),
                    term_keys,
                    lambda: _indexed_term_keys(ix),
                )
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
            line_index.update(self.path, self.current_name(), article_ids, store.iter_line_keys)
            # Only the revisions of the writes just indexed count as done, not the store's
            # current one: that may include another process's commit whose index update has not
            # run yet, and would never run if that process died, leaving a gap no check sees.
            self.write_state(advance_state(state, revisions))
        self._checked_at = 0.0
        return count

    def optimize(self) -> None:
        """Merge all segments into one: after a bulk import, lookups touch one segment, not many."""
        with self.write_lock():
            self.open().optimize()

    # -- reading --------------------------------------------------------------------------

    def searcher(self) -> Searcher:
        """A searcher kept open across requests, refreshed at most once a second.

        The searcher returned and the line index generation and caches this thread then reads
        (`articles_saying`, `caches`) belong together until this thread asks again.
        """
        return self.reading().searcher

    def reading(self) -> Reading:
        """The current reading (searcher, generation, caches), refreshed at most once a second."""
        with self._lock:
            now = time.monotonic()
            if self._reading is None:
                # Nothing to answer from yet: a failure here is the caller's to report.
                self._reading = self._open_reading(self.current_name(), SearcherCaches())
                self._checked_at = now
            elif now - self._checked_at >= self.REFRESH_SECONDS or not self._checked_at:
                self._checked_at = now
                self._refresh(self._reading)
            reading = self._reading
        self._local.reading = reading
        return reading

    def _open_reading(self, name: str, caches: SearcherCaches) -> Reading:
        searcher = self.open(name).searcher()
        try:
            fresh = caches.carried_over(searcher.reader())
            terms_filter = terms_filter_file(self.path, name)
            self.term_filters.forget([terms_filter])
            fresh.term_filter = (self.term_filters, terms_filter)
            return Reading(searcher, name, fresh)
        except BaseException:
            searcher.close()
            raise

    def _refresh(self, current: Reading) -> None:
        """Swap in a searcher on the newest index if it changed; on failure keep `current`."""
        try:
            name = self.current_name()
            if name == current.generation and current.searcher.up_to_date():
                fresh = None
            else:
                # A new searcher, not refresh(): refresh() reuses segment readers and misses
                # deletions made in a segment it already had open.
                fresh = self._open_reading(name, current.caches)
        except Exception:
            self.refresh_failures += 1
            if self.refresh_failing_since is None:
                self.refresh_failing_since = time.monotonic()
                # The first failure in a row is worth a trace; the retries that follow are not.
                log.warning(
                    "index refresh failed; still answering from generation %s, retrying",
                    current.generation,
                    exc_info=True,
                )
            return
        if self.refresh_failing_since is not None:
            log.warning(
                "index refresh works again after %.1f s of failures",
                time.monotonic() - self.refresh_failing_since,
            )
            self.refresh_failing_since = None
        if fresh is None:
            return
        if self._retired is not None:
            self._retired.close()
        self._retired = current.searcher
        self._reading = fresh

    @property
    def caches(self) -> SearcherCaches:
        """The lookups shared against the searcher this thread was last handed."""
        reading = getattr(self._local, "reading", None) or self._reading or self.reading()
        return reading.caches

    def articles_saying(self, keys: Iterable[int]) -> line_index.Found:
        """Which articles say each of these line keys, in the generation of the searcher this
        thread was last handed (a first call opens one)."""
        reading = getattr(self._local, "reading", None) or self.reading()
        return self.lines.articles_saying(reading.generation, keys, _lookup_budget)

    def document_count(self) -> int:
        return self.searcher().doc_count()

    def article_count(self) -> int:
        """Articles the index holds: those in the line index of the generation being read."""
        return self.lines.article_count(self.reading().generation)

    def size_on_disk(self) -> int:
        """Bytes of the current generation's files."""
        name = self.current_name()
        total = 0
        for path in self.path.iterdir():
            if _generation(path.name) != name:
                continue
            try:
                info = path.stat()
            except FileNotFoundError:
                continue  # a writer's commit removed it (a merged segment) since the listing
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
        return total

    def close(self) -> None:
        self.lines.close()
        with self._lock:
            current = self._reading.searcher if self._reading is not None else None
            for searcher in (current, self._retired):
                if searcher is not None:
                    searcher.close()
            self._reading = None
            self._retired = None
        self._local = threading.local()

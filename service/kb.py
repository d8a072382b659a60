"""The knowledge base: the store and the index kept in step.

Writes go to the store first (durable once committed) and to the index after, always through
`after_write`: every store write hands back the revision it was counted as, and the index
records exactly those revisions as indexed. When the index's revision and the store's differ
(a crash between the two), `repair` re-indexes from the store, which is the source of truth.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.config import Config
from service.curated import load_curated
from service.follow import StoreFollower
from service.index import INDEX_FORMAT, KBIndex
from service.storage import Store, Write

# How often a process looks for other processes' writes before trusting its caches.
CACHE_CHECK_SECONDS = 1.0
# Writes one step of following the store takes into the index at most: a node far behind
# (started after a bulk import elsewhere) catches up in steps that each commit, so its
# readers see progress and `/readyz` sees the lag shrink.
FOLLOW_BATCH = 1_000
# Explained issues and the like kept per worker: far more than a day's distinct answers need,
# a few tens of megabytes at most.
CACHE_MAX_ENTRIES = 10_000


class RevisionCache:
    """Values derived from the store, each kept until an article it was derived from changes.

    `put` names the articles a value depends on; a value put without them, or set with
    `cache[key] = value`, is dropped on any write. At most `max_entries` are kept, the oldest
    going first: pastes choose which issues are explained, so without a bound anyone could make
    every worker hold a copy of the whole knowledge base.
    """

    def __init__(self, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self._values: dict[str, Any] = {}
        self._depends: dict[str, frozenset[str] | None] = {}
        self._max_entries = max_entries

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.put(key, value)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def put(self, key: str, value: Any, articles: Iterable[str] | None = None) -> None:
        # Put again, a key becomes the newest (dicts keep insertion order).
        self._values.pop(key, None)
        self._depends.pop(key, None)
        while len(self._values) >= self._max_entries:
            oldest = next(iter(self._values))
            del self._values[oldest]
            del self._depends[oldest]
        self._values[key] = value
        self._depends[key] = None if articles is None else frozenset(articles)

    def forget(self, written: set[str] | None) -> None:
        """Drop what the articles in `written` may have changed; everything when None."""
        if written is None:
            self._values.clear()
            self._depends.clear()
            return
        stale = [k for k, deps in self._depends.items() if deps is None or deps & written]
        for key in stale:
            del self._values[key]
            del self._depends[key]


@dataclass
class BuildReport:
    articles: dict[str, str]
    documents: int


@dataclass
class IndexLag:
    """How far the index is behind the store, as one process sees it now."""

    store_revision: int
    # The revision up to which every write is in the index (-1: no index state at all).
    index_revision: int
    # Writes in the store that the index does not hold yet: articles not matchable yet.
    behind: int
    # How long this process has seen the index behind without it moving; 0 when in step.
    stalled_seconds: float
    # Whether an import is running, which will bring the index up to the store by its end.
    importing: bool


class KnowledgeBase:
    """One store and its index under `config.kb_home`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.store_location)
        if self.store.exists():
            # A store built by an earlier version lacks the tables added since: add them.
            self.store.initialise()
        self.index = KBIndex(config.index_path)
        self._cache = RevisionCache()
        self._cache_revision = -1
        self._cache_checked = 0.0
        # (index progress, when this process first saw the index behind at it): how long a lag
        # has stood still. Kept per process: the store records no time of its writes.
        self._behind_since: tuple[tuple[int, int], float] | None = None
        # On a shared database, what brings other nodes' writes into this node's index;
        # made by the app (`follow_store`) and started by the process that serves; None in
        # the `kb` commands.
        self.follower: StoreFollower | None = None

    def is_built(self) -> bool:
        return self.store.exists() and self.index.exists()

    def build(self) -> BuildReport:
        """Load `kb_data` into the store and (re)build the index. Safe to run again."""
        documents = load_curated(self.config.kb_data)
        self.store.initialise()
        writes = [self.store.save_article(doc, source="curated") for doc in documents]
        outcomes = {w.article_id: w.outcome for w in writes}
        if not self.index.exists() or any(o != "unchanged" for o in outcomes.values()):
            count = self.after_write(writes, rebuild=True)
        else:
            count = self.repair() or self.index.document_count()
        return BuildReport(outcomes, count)

    def ensure_ready(self) -> None:
        """Build when nothing is there yet; repair the index when it lags the store."""
        if not self.is_built():
            self.build()
        else:
            self.repair()

    def index_lags(self) -> bool:
        """The index misses writes the store has, or was written in an older format."""
        state = self.index.read_state()
        return state.get("revision") != self.store.revision() or state.get("format") != INDEX_FORMAT

    def index_lag(self) -> IndexLag:
        """Compare the index's state with the store's revision: how many writes it misses, for
        how long it has missed them without catching up, and whether an import is at work."""
        store_revision = self.store.revision()
        state = self.index.read_state()
        indexed = int(state.get("revision", -1))
        # Writes indexed past a gap (another writer's, still to come) are in the index already.
        ahead = [r for r in state.get("ahead", []) if indexed < r <= store_revision]
        behind = max(0, store_revision - indexed - len(ahead))
        now = time.monotonic()
        progress = (indexed, len(ahead))
        if not behind:
            self._behind_since = None
        elif self._behind_since is None or self._behind_since[0] != progress:
            self._behind_since = (progress, now)
        stalled = now - self._behind_since[1] if self._behind_since is not None else 0.0
        importing = self.index.import_running()
        return IndexLag(store_revision, indexed, behind, round(stalled, 1), importing)

    def repair(self) -> int:
        """Rebuild the index when it does not reflect the store's revision; 0 when in step."""
        if self.index.exists() and not self.index_lags():
            # An index written before there were key filters answers without them, only
            # slower: it gets them here, at the start of the next server or command.
            self.index.ensure_filters()
            return 0
        return self.index.rebuild(self.store)

    def after_write(
        self, writes: Iterable[Write | None], *, rebuild: bool = False, procs: int = 1
    ) -> int:
        """Bring the index and this process's caches up to committed store writes.

        The one path from a store write to the index: article saves and deletes, import
        batches, what feedback teaches or lowers and its removal all come through here. Only
        the revisions of `writes` are recorded as indexed, never the store's current one,
        which may hold another process's commit whose index update has not run yet.
        `rebuild` indexes the whole store again instead of the articles written (a first build
        or a bulk load), in `procs` processes. Returns the index documents written.
        """
        written = [w for w in writes if w is not None and w.written]
        if not written and not rebuild:
            return 0
        self.changed()
        if rebuild:
            return self.index.rebuild(self.store, procs=procs)
        # An article these writes created was not in the store before them, so the index holds
        # nothing of it to delete (a gap a crash left is closed by `repair`, at the next start).
        created = {w.article_id for w in written if w.outcome == "created"}
        return self.index.update_articles(
            self.store, [(w.article_id, w.revision) for w in written], created
        )

    def catch_up(self, batch: int = FOLLOW_BATCH) -> int:
        """Index the writes the store has and this node's index misses, oldest first, at most
        `batch` of them; returns how many were taken in.

        With a shared store these are mostly other nodes' writes, which nothing else brings
        here; a write of this node's own whose process died before indexing it is taken in
        the same way. Each missing revision is looked up in the store's write log, and only
        the articles those writes named are indexed again, as they are now in the store. When
        the log no longer reaches back to a missing revision, the whole store is indexed again.
        """
        store_revision = self.store.revision()
        state = self.index.read_state()
        indexed = int(state.get("revision", -1))
        if not self.index.exists() or state.get("format") != INDEX_FORMAT:
            # No index here, or one another version of the service made: all of it again.
            self.index.rebuild(self.store)
            return max(0, store_revision - indexed)
        done = set(state.get("ahead", []))
        missing = list(
            itertools.islice(
                (r for r in range(indexed + 1, store_revision + 1) if r not in done), batch
            )
        )
        if not missing:
            return 0
        # Revision 0 is the empty store, never a write: the log has nothing to say of it.
        logged = self.store.writes_between(missing[0] - 1, missing[-1])
        if any(r not in logged for r in missing if r > 0):
            self.index.rebuild(self.store)
            return len(missing)
        self.index.update_articles(self.store, [(logged[r], r) for r in missing if r in logged])
        return len(missing)

    def save_article(self, document: dict[str, Any], source: str) -> str:
        """Write one article and index it; returns created, updated, unchanged or kept."""
        write = self.store.save_article(document, source=source)
        self.after_write([write])
        return write.outcome

    def delete_article(self, article_id: str) -> bool:
        """Delete one article and drop it from the index; False when there was none."""
        write = self.store.delete_article(article_id)
        self.after_write([write])
        return write is not None

    def explain_cache(self) -> RevisionCache:
        """A per-process cache for derived views of records, kept in step with the store.

        Other processes' writes are looked for at most once a second, the same bound as the
        index's: during a bulk import the store changes many times a second, and a cache
        checked on every request would cost more than it saves. This process's own writes are
        seen at once (see `changed`). What a write changed is read from the store's write log:
        values derived from the articles written are dropped, the rest kept, since a bulk
        import of new articles leaves the issues already cached as they were.
        """
        now = time.monotonic()
        if now - self._cache_checked >= CACHE_CHECK_SECONDS:
            self._cache_checked = now
            revision = self.store.revision()
            if revision != self._cache_revision:
                self._cache.forget(
                    self.store.articles_written_since(self._cache_revision, revision)
                )
                self._cache_revision = revision
        return self._cache

    def changed(self) -> None:
        """This process wrote: its next read must see the write, not wait for the next check."""
        self._cache_checked = 0.0

    def follow_store(self) -> StoreFollower | None:
        """The follower of a shared store for this node (not started: the serving process
        starts it, `StoreFollower.ensure_running`); None with a store of this node's own, whose
        every writer indexes its own writes, or when following is off."""
        if self.follower is None and self.config.database_url and self.config.follow_ms > 0:
            self.follower = StoreFollower(
                self.catch_up, self.config.index_path, self.config.follow_ms / 1000
            )
        return self.follower

    def close(self) -> None:
        # The follower first: a step running after the store is closed would open it again.
        if self.follower is not None:
            self.follower.stop()
        self.index.close()
        self.store.close()

"""The store's tables, and how a store made by an earlier version is brought up to date."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    modification_type TEXT,
    last_reviewed TEXT,
    source TEXT NOT NULL CHECK (source IN ('curated', 'imported', 'api')),
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS article_aliases (
    alias TEXT PRIMARY KEY COLLATE NOCASE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
-- An article's aliases are read with it and deleted with it (a cascade looks them up by
-- article): without this index both read the whole table.
CREATE INDEX IF NOT EXISTS article_aliases_article ON article_aliases(article_id);
CREATE TABLE IF NOT EXISTS article_products (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, position)
);
CREATE INDEX IF NOT EXISTS article_products_product ON article_products(product COLLATE NOCASE);
-- The products listing counts by product and version from this index alone.
CREATE INDEX IF NOT EXISTS article_products_listing ON article_products(product, version, article_id);
CREATE TABLE IF NOT EXISTS article_keywords (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    keyword TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (article_id, keyword)
);
CREATE INDEX IF NOT EXISTS article_keywords_keyword ON article_keywords(keyword);
CREATE TABLE IF NOT EXISTS sections (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    heading TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE TABLE IF NOT EXISTS related_articles (
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    target_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, position)
);
CREATE INDEX IF NOT EXISTS related_articles_target ON related_articles(target_id);
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS issues_article ON issues(article_id);
CREATE TABLE IF NOT EXISTS symptoms (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    log_files TEXT NOT NULL DEFAULT '[]',
    occurrences INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS symptoms_issue ON symptoms(issue_id);
CREATE INDEX IF NOT EXISTS symptoms_article ON symptoms(article_id);
CREATE TABLE IF NOT EXISTS causes (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    missing_update TEXT,
    applies_to_sites TEXT
);
CREATE INDEX IF NOT EXISTS causes_article ON causes(article_id);
CREATE TABLE IF NOT EXISTS cause_issues (
    cause_id TEXT NOT NULL REFERENCES causes(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (cause_id, issue_id)
);
CREATE INDEX IF NOT EXISTS cause_issues_issue ON cause_issues(issue_id);
CREATE TABLE IF NOT EXISTS workarounds (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    preconditions TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS workarounds_article ON workarounds(article_id);
CREATE TABLE IF NOT EXISTS workaround_issues (
    workaround_id TEXT NOT NULL REFERENCES workarounds(id) ON DELETE CASCADE,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (workaround_id, issue_id)
);
CREATE INDEX IF NOT EXISTS workaround_issues_issue ON workaround_issues(issue_id);
CREATE TABLE IF NOT EXISTS steps (
    id TEXT PRIMARY KEY,
    workaround_id TEXT NOT NULL REFERENCES workarounds(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS steps_workaround ON steps(workaround_id);
-- What users taught the matcher (service.learning). Kept apart from the articles' records and
-- keyed by issue id without a foreign key: re-importing an article replaces its issues, and what
-- was learned for an issue id must outlive that.
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    request_id TEXT,
    comment TEXT,
    evidence TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS feedback_issue ON feedback(issue_id);
CREATE TABLE IF NOT EXISTS learned_symptoms (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    text TEXT NOT NULL,
    feedback_id INTEGER REFERENCES feedback(id),
    created_at TEXT NOT NULL,
    UNIQUE (issue_id, text)
);
CREATE INDEX IF NOT EXISTS learned_symptoms_article ON learned_symptoms(article_id);
-- Deleting a verdict looks up what it taught.
CREATE INDEX IF NOT EXISTS learned_symptoms_feedback ON learned_symptoms(feedback_id);
CREATE TABLE IF NOT EXISTS issue_penalties (
    issue_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    verdicts INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (issue_id, signature)
);
-- Which article each recent revision wrote, so that a process can tell what changed since the
-- revision its caches were built at, and keep what did not.
CREATE TABLE IF NOT EXISTS article_writes (
    revision INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL
);
"""
# What review added to feedback: a verdict waits (`pending`) until a token holder approves or
# rejects it. Verdicts recorded before review existed had taken effect, hence the default.
FEEDBACK_REVIEW_COLUMNS = {
    "status": "TEXT NOT NULL DEFAULT 'approved'",
    "lessons": "TEXT NOT NULL DEFAULT '[]'",
    "client": "TEXT",
    "reviewed_at": "TEXT",
}
# Every line an article says, as keys of normalised lines (service/article_text.py), kept whole
# beside the article and written with it; the line index (service/storage/lines.py) turns them
# around, key -> articles, for lookups.
LINES_SCHEMA = """
CREATE TABLE IF NOT EXISTS line_keys (
    article_id INTEGER PRIMARY KEY,
    keys BLOB NOT NULL,
    issue_numbers BLOB NOT NULL
);
"""
# Full-text search over whole articles lives in SQLite (FTS5, in C) beside the records, written in
# the same transaction; the Whoosh index holds only what log matching needs.
SEARCH_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS article_search
    USING fts5(title, body, tokenize='porter unicode61');
"""

# The activity database (service/storage/activity.py) lives in a file of its own.
ACTIVITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS matches (
    request_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    evidence TEXT NOT NULL,
    unmatched TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS matches_created ON matches(created_at);
CREATE TABLE IF NOT EXISTS issue_matches (
    issue_id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_matched TEXT NOT NULL,
    last_matched TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unmatched_lines (
    signature TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- Distinct clients (keyed hashes, service.privacy) that pasted a content-gap line.
CREATE TABLE IF NOT EXISTS gap_clients (
    signature TEXT NOT NULL,
    client TEXT NOT NULL,
    PRIMARY KEY (signature, client)
) WITHOUT ROWID;
-- How many recent pastes had each distinctive unmatched line: feedback never learns a line
-- that is common to logs.
CREATE TABLE IF NOT EXISTS line_seen (
    signature TEXT PRIMARY KEY,
    pastes INTEGER NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS line_seen_last ON line_seen(last_seen);
"""
# Logs made before clients were counted: their gaps count as seen by none.
ACTIVITY_GAP_COLUMNS = {"clients": "INTEGER NOT NULL DEFAULT 0"}


def add_missing_columns(conn: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    """Bring a table made by an earlier version up to date: SQLite adds columns in place."""
    present = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, definition in columns.items():
        if name not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")


# PostgreSQL: the same tables, made by versioned migrations (run by `kb build` and at start,
# one process at a time: service/storage/postgres.py). A migration once released is never
# edited; a change to the tables is a new one at the end of the list.
#
# Ids and other keys sort and compare byte by byte (COLLATE "C"), as SQLite's do: pages of
# records follow their ids, and a cursor is an id. Aliases and keywords compare without case,
# as SQLite's NOCASE does, through a case-insensitive ICU collation of the same name.
POSTGRES_SCHEMA_1 = """
CREATE COLLATION IF NOT EXISTS nocase
    (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE articles (
    id TEXT COLLATE "C" PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    modification_type TEXT,
    last_reviewed TEXT,
    source TEXT NOT NULL CHECK (source IN ('curated', 'imported', 'api')),
    content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE article_aliases (
    alias TEXT COLLATE nocase PRIMARY KEY,
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE
);
CREATE INDEX article_aliases_article ON article_aliases(article_id);
CREATE TABLE article_products (
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    product TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, position)
);
CREATE INDEX article_products_product ON article_products(product);
-- `rowid` keeps the order keywords were written in, which SQLite's own rowid gives there.
CREATE TABLE article_keywords (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY,
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    keyword TEXT COLLATE nocase NOT NULL,
    PRIMARY KEY (article_id, keyword)
);
CREATE INDEX article_keywords_keyword ON article_keywords(keyword);
CREATE TABLE sections (
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    heading TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (article_id, position)
);
CREATE TABLE related_articles (
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (article_id, position)
);
CREATE INDEX related_articles_target ON related_articles(target_id);
CREATE TABLE issues (
    id TEXT COLLATE "C" PRIMARY KEY,
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX issues_article ON issues(article_id);
CREATE TABLE symptoms (
    id TEXT COLLATE "C" PRIMARY KEY,
    issue_id TEXT COLLATE "C" NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    text TEXT NOT NULL,
    log_files TEXT NOT NULL DEFAULT '[]',
    occurrences INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX symptoms_issue ON symptoms(issue_id);
CREATE INDEX symptoms_article ON symptoms(article_id);
CREATE TABLE causes (
    id TEXT COLLATE "C" PRIMARY KEY,
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    missing_update TEXT,
    applies_to_sites TEXT
);
CREATE INDEX causes_article ON causes(article_id);
CREATE TABLE cause_issues (
    cause_id TEXT COLLATE "C" NOT NULL REFERENCES causes(id) ON DELETE CASCADE,
    issue_id TEXT COLLATE "C" NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (cause_id, issue_id)
);
CREATE INDEX cause_issues_issue ON cause_issues(issue_id);
CREATE TABLE workarounds (
    id TEXT COLLATE "C" PRIMARY KEY,
    article_id TEXT COLLATE "C" NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    preconditions TEXT NOT NULL DEFAULT '[]',
    warnings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX workarounds_article ON workarounds(article_id);
CREATE TABLE workaround_issues (
    workaround_id TEXT COLLATE "C" NOT NULL REFERENCES workarounds(id) ON DELETE CASCADE,
    issue_id TEXT COLLATE "C" NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (workaround_id, issue_id)
);
CREATE INDEX workaround_issues_issue ON workaround_issues(issue_id);
CREATE TABLE steps (
    id TEXT COLLATE "C" PRIMARY KEY,
    workaround_id TEXT COLLATE "C" NOT NULL REFERENCES workarounds(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    text TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX steps_workaround ON steps(workaround_id);
CREATE TABLE feedback (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    created_at TEXT NOT NULL,
    issue_id TEXT COLLATE "C" NOT NULL,
    helpful INTEGER NOT NULL,
    request_id TEXT,
    comment TEXT,
    evidence TEXT NOT NULL DEFAULT '[]',
    status TEXT COLLATE "C" NOT NULL DEFAULT 'approved',
    lessons TEXT NOT NULL DEFAULT '[]',
    client TEXT COLLATE "C",
    reviewed_at TEXT
);
CREATE INDEX feedback_issue ON feedback(issue_id);
CREATE INDEX feedback_status ON feedback(status, id);
CREATE TABLE learned_symptoms (
    id TEXT COLLATE "C" PRIMARY KEY,
    issue_id TEXT COLLATE "C" NOT NULL,
    article_id TEXT COLLATE "C" NOT NULL,
    text TEXT COLLATE "C" NOT NULL,
    feedback_id BIGINT REFERENCES feedback(id),
    created_at TEXT COLLATE "C" NOT NULL,
    UNIQUE (issue_id, text)
);
CREATE INDEX learned_symptoms_article ON learned_symptoms(article_id);
CREATE TABLE issue_penalties (
    issue_id TEXT COLLATE "C" NOT NULL,
    signature TEXT COLLATE "C" NOT NULL,
    verdicts INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (issue_id, signature)
);
CREATE TABLE article_writes (
    revision BIGINT PRIMARY KEY,
    article_id TEXT COLLATE "C" NOT NULL
);
CREATE TABLE line_keys (
    article_id BIGINT PRIMARY KEY,
    keys BYTEA NOT NULL,
    issue_numbers BYTEA NOT NULL
);
-- English stemming without a stop-word list, as SQLite's porter tokenizer has none: a search
-- made only of function words finds the articles that say them, on either backend.
CREATE TEXT SEARCH DICTIONARY kb_stem (TEMPLATE = snowball, LANGUAGE = english);
CREATE TEXT SEARCH CONFIGURATION kb_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION kb_english
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH kb_stem;
-- Full-text search: each article's title (weight A) and text (weight B) as one tsvector,
-- kept by the database itself whenever the row is written, searched through a GIN index.
-- `rowid` is the article's number, as in SQLite's FTS5 table, so one statement writes either.
-- Every run of characters other than letters and digits is a space first, as SQLite's
-- unicode61 tokenizer has it: PostgreSQL's parser would keep a path or a file name (copylog.tcf)
-- as one token, and the words in it could not be found.
CREATE TABLE article_search (
    rowid BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    document TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('kb_english', regexp_replace(title, '[^[:alnum:]]+', ' ', 'g')), 'A')
        || setweight(to_tsvector('kb_english', regexp_replace(body, '[^[:alnum:]]+', ' ', 'g')), 'B')
    ) STORED
);
CREATE INDEX article_search_document ON article_search USING GIN (document);
-- The activity log: in the shared database too, so feedback by request id and content gaps
-- see the pastes answered on every node.
CREATE TABLE matches (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    created_at TEXT COLLATE "C" NOT NULL,
    evidence TEXT NOT NULL,
    unmatched TEXT NOT NULL
);
CREATE INDEX matches_created ON matches(created_at);
CREATE TABLE issue_matches (
    issue_id TEXT COLLATE "C" PRIMARY KEY,
    article_id TEXT COLLATE "C" NOT NULL,
    count INTEGER NOT NULL,
    first_matched TEXT COLLATE "C" NOT NULL,
    last_matched TEXT COLLATE "C" NOT NULL
);
CREATE TABLE unmatched_lines (
    signature TEXT COLLATE "C" PRIMARY KEY,
    count INTEGER NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL,
    last_seen TEXT COLLATE "C" NOT NULL,
    clients INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE totals (key TEXT COLLATE "C" PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE gap_clients (
    signature TEXT COLLATE "C" NOT NULL,
    client TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (signature, client)
);
CREATE TABLE line_seen (
    signature TEXT COLLATE "C" PRIMARY KEY,
    pastes INTEGER NOT NULL,
    last_seen TEXT COLLATE "C" NOT NULL
);
CREATE INDEX line_seen_last ON line_seen(last_seen);
"""

# The products listing counts by product and version from this index alone, as SQLite's does.
POSTGRES_SCHEMA_2 = """
CREATE INDEX article_products_listing ON article_products(product, version, article_id);
"""

POSTGRES_SCHEMA_3 = """
CREATE INDEX learned_symptoms_feedback ON learned_symptoms(feedback_id);
"""

# Each word of each article's tsvector with the rank a search of that word alone gives the
# article (ts_rank_cd as service.storage.search ranks with it): a ranking of single words
# reads these rows from the index instead of decompressing the tsvector of every article
# with one of the words, once per word, which was most of what a search cost. Kept by the
# database as the tsvector is: a row of article_search written writes its words, one deleted
# takes its words with it.
# `article_ranks` works the ranks out in time linear in the article: asked for normalisation
# 33, ts_rank_cd would count the whole document's positions at every call, and given a stored
# tsvector it would decompress it at every call, so an article of n words would cost n
# squared. It decompresses once, asks ts_rank_cd for the bare rank (normalisation 0) and
# divides as normalisations 1 and 32 do (by the log of 1 + the positions, then rank / (rank +
# 1)), with the positions counted once. The bare rank comes back as a real before the division,
# so a rank could differ from ts_rank_cd's own in its last bit (none of the SMS archive's
# 335,338 does; tests/test_postgres.py compares searches with ranking by ts_rank_cd).
POSTGRES_SCHEMA_4 = """
CREATE TABLE article_terms (
    lexeme TEXT COLLATE "C" NOT NULL,
    rowid BIGINT NOT NULL REFERENCES article_search(rowid) ON DELETE CASCADE,
    rank REAL NOT NULL
);
CREATE FUNCTION article_ranks(document tsvector) RETURNS TABLE (word text, word_rank real)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    doc tsvector := document || ''::tsvector;
    length_log float8;
BEGIN
    SELECT ln(1 + sum(greatest(cardinality(u.positions), 1))) INTO length_log
    FROM unnest(doc) AS u;
    RETURN QUERY
    SELECT u.lexeme, (r.bare / (r.bare + 1))::real
    FROM unnest(doc) AS u,
         LATERAL (SELECT ts_rank_cd('{0.1, 0.2, 0.5, 1.0}', doc, quote_literal(u.lexeme)::tsquery, 0)
                         / length_log AS bare) AS r;
END
$$;
CREATE FUNCTION article_terms_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM article_terms WHERE rowid = OLD.rowid;
    END IF;
    INSERT INTO article_terms(lexeme, rowid, rank)
    SELECT r.word, NEW.rowid, r.word_rank FROM article_ranks(NEW.document) AS r;
    RETURN NULL;
END
$$;
CREATE TRIGGER article_terms_written AFTER INSERT OR UPDATE ON article_search
    FOR EACH ROW EXECUTE FUNCTION article_terms_written();
INSERT INTO article_terms(lexeme, rowid, rank)
SELECT r.word, s.rowid, r.word_rank FROM article_search s, LATERAL article_ranks(s.document) AS r;
-- Ranking reads the rank beside the key (an index-only scan), and the cascade finds an
-- article's words by its number.
CREATE INDEX article_terms_lexeme ON article_terms(lexeme, rowid) INCLUDE (rank);
CREATE INDEX article_terms_rowid ON article_terms(rowid);
"""

# (version, script), oldest first.
POSTGRES_MIGRATIONS: list[tuple[int, str]] = [
    (1, POSTGRES_SCHEMA_1),
    (2, POSTGRES_SCHEMA_2),
    (3, POSTGRES_SCHEMA_3),
    (4, POSTGRES_SCHEMA_4),
]

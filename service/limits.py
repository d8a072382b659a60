"""Every limit and default the API states, each named once.

The request schemas validate with these numbers, the OpenAPI document quotes them, and
`Config` takes its defaults from them, so the contract and the code cannot disagree on a
number. Settings that the environment may change (`KB_*`) are defaults here; the rest are
fixed by the API.
"""

from __future__ import annotations

# -- matching -------------------------------------------------------------------------------
# Ranked issues in one match answer: the default when no `limit` is sent, and the most allowed.
MATCH_LIMIT_DEFAULT = 5
MATCH_LIMIT_MAX = 50
# How much of each match an answer gives (`detail`): every part, or what a ticket needs.
MATCH_DETAILS = ("full", "brief")
MATCH_DETAIL_DEFAULT = "full"
# A brief match (`detail=brief`) shows at most this many of its matched lines, the strongest,
# and each fix step's first sentence cut to at most this many characters.
BRIEF_MATCH_LINES = 3
STEP_TITLE_CHARS = 100

# -- pastes (defaults of KB_MAX_BODY_BYTES, KB_MAX_PASTE_LINES, KB_MAX_LINE_CHARS and
# KB_MATCH_BUDGET_MS) ------------------------------------------------------------------------
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_PASTE_LINES = 20_000
# Longer lines of a paste are cut to this; a single line sent in the query string may not be
# longer, since there is nothing around it to keep.
MAX_LINE_CHARS = 10_000
MATCH_BUDGET_MS = 800

# -- lists ----------------------------------------------------------------------------------
# Records per page of /v1/articles, /v1/issues and the other lists, and of pending feedback.
PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 200
MAX_CURSOR_CHARS = 200
# The largest id SQLite stores (a signed 64-bit INTEGER): verdict ids and the pending list's
# cursor go no higher, and a larger number names nothing (404, or a 400 for the cursor).
MAX_RECORD_NUMBER = 2**63 - 1

# -- search and stats -----------------------------------------------------------------------
SEARCH_LIMIT_DEFAULT = 10
SEARCH_LIMIT_MAX = 50
MAX_QUERY_CHARS = 1_000
STATS_LIMIT_DEFAULT = 20
STATS_LIMIT_MAX = 100

# -- filters and feedback fields ------------------------------------------------------------
MAX_PRODUCT_CHARS = 200
MAX_VERSION_CHARS = 100
MAX_KEYWORD_CHARS = 100
MAX_EXPAND_CHARS = 100
MAX_ISSUE_ID_CHARS = 100
MAX_REQUEST_ID_CHARS = 128
MAX_COMMENT_CHARS = 2_000

# -- HTTP framing (gunicorn's limits, set by service/gunicorn_conf.py) ----------------------
# The request line (method, path, query string percent-encoded, version) may be this long:
# gunicorn's largest, since a line to match can be sent in the query string. Longer is a 414.
REQUEST_LINE_BYTES = 8_190
# Each header line, and how many headers a request may carry; more is a 431.
REQUEST_HEADER_BYTES = 8_190
REQUEST_HEADERS = 100
# What a query parameter can hold within REQUEST_LINE_BYTES: plain ASCII sent with room to
# spare for the method, path and other parameters. A percent-encoded character takes 3 bytes
# (9 to 12 for one outside ASCII), so text of many such characters fits in fewer.
MAX_QUERY_LINE_CHARS = 8_000

# -- operations (defaults of the KB_* settings the contract mentions) -----------------------
ACTIVITY_DAYS = 7
GAP_MIN_CLIENTS = 3
READY_MAX_BEHIND = 5_000
READY_STALL_SECONDS = 60
# How often a node on a shared database looks for other nodes' writes: a write is matched on
# every node within this, the time to index it and a searcher refresh (1 s), well inside 2 s.
FOLLOW_MS = 250

"""Matching a pasted log to known issues, in three steps that each feed the next:

- `parse`: the paste text into log records, each normalised once;
- `rank`: the records against the index, into issues ranked by their evidence (feedback's
  penalties and every threshold applied there);
- `explain`: the ranked issues into the answer, plain data for the views to dump.

`answer_paste` runs them for every caller that answers a paste.
"""

from service.matching.answer import (
    MatchAnalysis,
    MatchOptions,
    analyse_log,
    answer_paste,
    match_log,
    rank_paste,
)
from service.matching.explain import NO_MATCH_HINT, explain_answer, explain_match
from service.matching.parse import Paste, PasteLine, PasteTooCostly, PasteTooLarge, parse
from service.matching.rank import CONFIDENT, Evidence, Penalties, RankedIssue, RankOutcome

__all__ = [
    "CONFIDENT",
    "Evidence",
    "NO_MATCH_HINT",
    "MatchAnalysis",
    "MatchOptions",
    "Paste",
    "PasteLine",
    "PasteTooCostly",
    "PasteTooLarge",
    "Penalties",
    "RankOutcome",
    "RankedIssue",
    "analyse_log",
    "answer_paste",
    "explain_answer",
    "explain_match",
    "match_log",
    "parse",
    "rank_paste",
]

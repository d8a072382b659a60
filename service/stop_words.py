"""The function words left out of matching and search, each word written once.

Three readers drop them, each a different share:
- line signatures (`normalize`): a line's content terms, which decide partial matches and the
  stored line keys; any change here changes every key, so a store would have to rebuild them.
- article search (`search`): the words of a query; negations and modal verbs stay, because KB
  titles turn on them ("Cannot ...", "... Does Not ...").
- prose (`ranking`): people's own words, which carry many more function words than log lines.
"""

from __future__ import annotations

_EVERYWHERE = """
    a an and are as at be been by for from i in is it its of on or that the these this to was we
    were with you your
"""
# Kept in search queries, where titles turn on them.
_NOT_IN_SEARCH = """
    all any but can could did do does had has have if into no not our so such than their then
    there will would
"""
_NOT_IN_SIGNATURES = "my those"
_ONLY_IN_PROSE = """
    about above after again against already also am because before being below between both
    cannot doing down during each even ever few further get gets got having he her here hers him
    his how itself just me more most nor now off once one only other ours out over own same she
    should since some still them they through too two under until up us very what when where
    which while who whom why yet yours
"""
_ONLY_IN_SIGNATURES = "yes"

SIGNATURE_STOP_WORDS = frozenset((_EVERYWHERE + _NOT_IN_SEARCH + _ONLY_IN_SIGNATURES).split())
SEARCH_STOP_WORDS = frozenset((_EVERYWHERE + _NOT_IN_SIGNATURES).split())
PROSE_STOP_WORDS = frozenset(
    (_EVERYWHERE + _NOT_IN_SEARCH + _NOT_IN_SIGNATURES + _ONLY_IN_PROSE).split()
)

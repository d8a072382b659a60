"""Readiness: the store and index can be read, and the index holds what the store holds.

An index behind the store answers, but without the articles it misses: a bulk import indexes
in batches, so some lag is normal; an import that died leaves a lag nothing will close until
`kb check` or a restart repairs it. The answer says how far behind the index is, and is not
ready when that is far (more than `ready_max_behind` writes), or when it has stood still for
longer than `ready_stall_seconds` with no import running to close it. Errors are logged; the
answer names the failing check only, since a probe's answer may travel further than the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from service.kb import KnowledgeBase

log = logging.getLogger(__name__)


def readiness(knowledge: KnowledgeBase) -> tuple[bool, dict[str, Any]]:
    """Whether this process is ready to answer, and the checks that say so."""
    config = knowledge.config
    store: dict[str, Any] = {"ok": True}
    index: dict[str, Any] = {"ok": True}
    lag = None
    try:
        store["articles"] = knowledge.store.count("articles")
        lag = knowledge.index_lag()
        store["revision"] = lag.store_revision
    except Exception:
        log.exception("readiness: the store cannot be read")
        store = {"ok": False, "error": "The store cannot be read; the server log says why."}
    try:
        index["documents"] = knowledge.index.document_count()
        index["articles"] = knowledge.index.article_count()
    except Exception:
        log.exception("readiness: the index cannot be read")
        index = {"ok": False, "error": "The index cannot be read; the server log says why."}
    if lag is not None:
        index.update(
            revision=lag.index_revision,
            behind=lag.behind,
            stalled_seconds=lag.stalled_seconds,
            import_running=lag.importing,
        )
        if lag.behind > config.ready_max_behind:
            index["ok"] = False
            index.setdefault(
                "error",
                f"The index misses {lag.behind} writes the store has (more than "
                f"{config.ready_max_behind}); `kb check` repairs it if no import is running.",
            )
        elif lag.behind and not lag.importing and lag.stalled_seconds > config.ready_stall_seconds:
            index["ok"] = False
            index.setdefault(
                "error",
                f"The index has missed {lag.behind} writes the store has for "
                f"{lag.stalled_seconds:.0f} s, and no import is running to index them; "
                "`kb check` repairs it.",
            )
    failing_since = knowledge.index.refresh_failing_since
    if failing_since is not None and index["ok"]:
        failing = time.monotonic() - failing_since
        if failing > config.ready_stall_seconds:
            index["ok"] = False
            index["error"] = (
                f"This worker has not been able to open the index's newest state for "
                f"{failing:.0f} s and answers from an older one; the server log says why."
            )
    ready = store["ok"] and index["ok"]
    return ready, {
        "status": "ready" if ready else "not ready",
        "checks": {"store": store, "index": index},
    }

"""How long one request may spend matching a paste, and where it is checked.

Size limits bound what a paste holds, not what it costs: 20,000 distinct lines, or lines built to
make every lookup miss, can keep a worker busy for seconds while other requests wait. The match
pipeline therefore calls `check` between its steps (per line, per lookup batch); once the time
given has run out, `BudgetExceeded` ends the request, which is answered with a 413 that says
what ran out and how to send less, and the worker is free again.

The budget is per request and the steps that check it are several modules deep (parsing,
ranking, the line index), so the running budget is kept in a context variable rather than
passed through every signature; outside `spending` (indexing, the importer, tests of single
functions) `check` costs a lookup and does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class BudgetExceeded(Exception):
    """The time given to one match ran out; `stage` says what the pipeline was doing."""

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(f"the match took more than {seconds:g} s while {stage}")
        self.stage = stage
        self.seconds = seconds


class Budget:
    """A deadline on the monotonic clock: wall time, since that is what holds a worker."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self, stage: str) -> None:
        """Raise `BudgetExceeded` naming `stage` when the deadline has passed."""
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(stage, self.seconds)


_current: ContextVar[Budget | None] = ContextVar("match_budget", default=None)


@contextmanager
def spending(seconds: float | None) -> Iterator[Budget | None]:
    """Run the enclosed steps under a budget of `seconds` (None or 0: no limit)."""
    budget = Budget(seconds) if seconds else None
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def check(stage: str) -> None:
    """Raise `BudgetExceeded` if the running request's budget is spent; `stage` names the step."""
    budget = _current.get()
    if budget is not None:
        budget.check(stage)

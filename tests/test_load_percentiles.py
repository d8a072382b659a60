"""The load benchmarks' percentiles of several wrk runs taken as one (bench/load.py)."""

from __future__ import annotations

import math
import random

from bench.load import merged_percentile


def nearest_rank(samples: list[int], q: float) -> float:
    """wrk's percentile of one run: the sample at rank floor(q% of n + 1), in ms."""
    ordered = sorted(samples)
    return ordered[min(len(ordered), math.floor(q / 100 * len(ordered) + 1)) - 1] / 1000


def as_run(samples: list[int]) -> dict:
    counts: dict[int, int] = {}
    for value in samples:
        counts[value] = counts.get(value, 0) + 1
    return {"latencies_us": [[value, n] for value, n in counts.items()]}


def test_two_runs_merge_into_the_percentiles_of_all_their_requests() -> None:
    rng = random.Random(7)
    fast = [rng.randint(1_000, 5_000) for _ in range(900)]
    slow = [rng.randint(20_000, 90_000) for _ in range(100)]
    for q in (50, 90, 99, 99.9):
        assert merged_percentile([as_run(fast)], q) == nearest_rank(fast, q)
        assert merged_percentile([as_run(fast), as_run(slow)], q) == nearest_rank(fast + slow, q)
    # The worse run's own p99 is not the p99 of the requests of both.
    both = merged_percentile([as_run(fast), as_run(slow)], 99)
    assert both < merged_percentile([as_run(slow)], 99)


def test_runs_that_recorded_nothing_have_no_percentile() -> None:
    assert math.isnan(merged_percentile([{"latencies_us": []}, {}], 99))

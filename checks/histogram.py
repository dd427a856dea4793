"""Fixed latency buckets: counts per bucket add up across hours, days and checks, and
percentiles are read back from them without keeping raw latencies."""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

# Upper bounds (ms, exclusive) of each bucket; the last bucket is open-ended.
BUCKET_BOUNDS_MS: tuple[float, ...] = (
    1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 1500, 2000, 3000, 5000, 10000, 30000,
)  # fmt: skip
BUCKETS = len(BUCKET_BOUNDS_MS) + 1


def bucket_of(latency_ms: float) -> int:
    for index, bound in enumerate(BUCKET_BOUNDS_MS):
        if latency_ms < bound:
            return index
    return BUCKETS - 1


def bucket_sql(column: str) -> str:
    """A SQL CASE expression giving the bucket index of ``column`` (same as bucket_of)."""
    whens = " ".join(
        f"WHEN {column} < {bound} THEN {index}" for index, bound in enumerate(BUCKET_BOUNDS_MS)
    )
    return f"CASE {whens} ELSE {BUCKETS - 1} END"


def percentile(histogram: Sequence[int], q: float) -> float | None:
    """Estimate the q-quantile (0..1) in ms, interpolating inside the bucket.

    Pages read thousands of histograms per request: the running totals and the bucket
    search run in C (itertools, bisect) rather than in a Python loop.
    """
    running = list(accumulate(histogram))
    count = running[-1] if running else 0
    if count == 0:
        return None
    rank = q * count
    # The first bucket whose running total reaches the rank; at rank 0, the first one
    # holding a result (empty buckets before it carry no latency).
    index = bisect_left(running, rank) if rank > 0 else bisect_right(running, 0)
    seen = running[index - 1] if index else 0
    low = BUCKET_BOUNDS_MS[index - 1] if index > 0 else 0.0
    high = BUCKET_BOUNDS_MS[index] if index < len(BUCKET_BOUNDS_MS) else low * 2
    return low + (high - low) * ((rank - seen) / histogram[index])

"""Percentiles read back from latency buckets: one function serves the engine and the pages."""

import pytest

from checks.histogram import BUCKET_BOUNDS_MS, BUCKETS, bucket_of, percentile


def bucket_by_bucket(histogram: list[int], q: float) -> float | None:
    """The definition, bucket after bucket: the first bucket holding a result whose running
    total reaches the rank, interpolated inside it."""
    count = sum(histogram)
    if count == 0:
        return None
    rank = q * count
    seen = 0
    for index, in_bucket in enumerate(histogram):
        if in_bucket and seen + in_bucket >= rank:
            low = BUCKET_BOUNDS_MS[index - 1] if index > 0 else 0.0
            high = BUCKET_BOUNDS_MS[index] if index < len(BUCKET_BOUNDS_MS) else low * 2
            return low + (high - low) * ((rank - seen) / in_bucket)
        seen += in_bucket
    raise AssertionError("the rank lies beyond the last result")


HISTOGRAMS = [
    [0] * BUCKETS,
    [5] + [0] * (BUCKETS - 1),
    [0] * (BUCKETS - 1) + [3],
    [1, 0, 4, 0, 0, 7, 2, 0, 0, 9, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0, 0, 10, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 3] + [0] * (BUCKETS - 4) + [1],
]


@pytest.mark.parametrize("histogram", HISTOGRAMS)
@pytest.mark.parametrize("q", [0.0, 0.01, 0.25, 0.5, 0.95, 0.99, 1.0])
def test_percentile_agrees_with_the_bucket_by_bucket_definition(histogram, q):
    assert percentile(histogram, q) == bucket_by_bucket(histogram, q)


def test_lowest_percentile_is_the_floor_of_the_first_bucket_with_results():
    histogram = [0] * BUCKETS
    histogram[bucket_of(120)] = 4  # 100-150 ms
    histogram[bucket_of(400)] = 4  # 300-500 ms

    assert percentile(histogram, 0.0) == 100.0
    assert percentile(histogram, 0.5) == 150.0
    assert percentile(histogram, 0.75) == 400.0
    assert percentile(histogram, 1.0) == 500.0


def test_results_past_the_last_bound_interpolate_up_to_twice_it():
    histogram = [0] * (BUCKETS - 1) + [2]

    assert percentile(histogram, 0.5) == pytest.approx(BUCKET_BOUNDS_MS[-1] * 1.5)

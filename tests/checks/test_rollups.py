from datetime import UTC, datetime, timedelta

import pytest

from checks.histogram import BUCKET_BOUNDS_MS, bucket_of, percentile
from checks.models import Outcome, Ping, Result, Rollup, ServiceRollup
from checks.rollups import history_prune, rollup_day_compute, rollup_hour_compute, rollups_refresh
from checks.selectors import availability_by
from checks.services import Observation, results_record
from tests.checks.factories import make_check

HOUR = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def record(check, start: datetime, outcomes_latencies: list[tuple[int, float | None]], step=60):
    base = int(start.timestamp())
    results_record(
        observations=[
            Observation(check.pk, base + i * step, base + i * step + 0.1, outcome, latency)
            for i, (outcome, latency) in enumerate(outcomes_latencies)
        ]
    )


def test_bucket_of_matches_the_bounds():
    assert bucket_of(0.4) == 0
    assert bucket_of(1) == 1
    assert bucket_of(99.9) == BUCKET_BOUNDS_MS.index(100)
    assert bucket_of(10**6) == len(BUCKET_BOUNDS_MS)


def test_percentile_interpolates_inside_the_bucket():
    histogram = [0] * (len(BUCKET_BOUNDS_MS) + 1)
    histogram[bucket_of(60)] = 100  # all between 50 and 75 ms
    assert percentile(histogram, 0.5) == pytest.approx(62.5)
    assert percentile([0] * 22, 0.5) is None


@pytest.mark.django_db
def test_hourly_rollup_counts_outcomes_and_latency(service):
    check = make_check(service)
    record(check, HOUR, [(Outcome.UP, 40.0)] * 50 + [(Outcome.DEGRADED, 900.0)] * 5
           + [(Outcome.DOWN, None)] * 5)  # fmt: skip
    assert rollup_hour_compute(start=HOUR + timedelta(minutes=30)) == 1
    rollup = Rollup.objects.get(period="hour")
    assert (rollup.up, rollup.degraded, rollup.down) == (50, 5, 5)
    assert rollup.start == HOUR
    assert rollup.latency_count == 55
    assert rollup.latency_sum_ms == pytest.approx(50 * 40 + 5 * 900)
    assert rollup.histogram[bucket_of(40)] == 50
    assert rollup.histogram[bucket_of(900)] == 5


@pytest.mark.django_db
def test_recomputing_an_hour_replaces_it_instead_of_adding(service):
    check = make_check(service)
    record(check, HOUR, [(Outcome.UP, 10.0)] * 10)
    rollup_hour_compute(start=HOUR)
    rollup_hour_compute(start=HOUR)
    record(check, HOUR + timedelta(minutes=10), [(Outcome.DOWN, None)] * 2, step=1)
    rollup_hour_compute(start=HOUR)
    rollup = Rollup.objects.get(period="hour")
    assert (rollup.up, rollup.down) == (10, 2)


@pytest.mark.django_db
def test_daily_rollup_sums_its_hours(service):
    check = make_check(service)
    for hour in range(3):
        record(check, HOUR + timedelta(hours=hour), [(Outcome.UP, 20.0)] * 4)
        rollup_hour_compute(start=HOUR + timedelta(hours=hour))
    rollup_day_compute(start=HOUR)
    rollup_day_compute(start=HOUR)
    day = Rollup.objects.get(period="day")
    assert day.start == HOUR.replace(hour=0)
    assert (day.up, day.latency_count) == (12, 12)
    assert day.histogram[bucket_of(20)] == 12


@pytest.mark.django_db
def test_refresh_rebuilds_the_previous_hour_early_in_the_next(service):
    check = make_check(service)
    record(check, HOUR, [(Outcome.UP, 5.0)] * 3)
    hourly, daily = rollups_refresh(now=HOUR + timedelta(hours=1, minutes=4))
    assert (hourly, daily) == (1, 1)
    assert rollups_refresh(now=HOUR + timedelta(hours=1, minutes=30)) == (0, 1)


@pytest.mark.django_db
def test_availability_reads_uptime_and_percentiles_per_service(service, other_service):
    a = make_check(service, "a")
    b = make_check(other_service, "b")
    record(a, HOUR, [(Outcome.UP, 30.0)] * 95 + [(Outcome.DOWN, None)] * 5, step=30)
    record(b, HOUR, [(Outcome.UP, 120.0)] * 10)
    rollup_hour_compute(start=HOUR)
    rollup_hour_compute(start=HOUR + timedelta(hours=1))
    rollup_day_compute(start=HOUR)
    now = HOUR + timedelta(hours=2)
    by_service = availability_by(group="service", window="24h", now=now)
    assert by_service[service.pk].uptime_pct == pytest.approx(95.0)
    assert by_service[other_service.pk].uptime_pct == 100.0
    assert 100 <= by_service[other_service.pk].latency_ms(0.95) <= 150
    assert availability_by(group="service", window="90d", now=now)[service.pk].down == 5
    only = availability_by(group="check", window="7d", now=now, ids=[b.pk])
    assert list(only) == [b.pk]
    assert availability_by(group="service", window="24h", now=now + timedelta(days=2)) == {}


@pytest.mark.django_db
def test_availability_rejects_an_unknown_window(service):
    with pytest.raises(ValueError, match="unknown window '2d'"):
        availability_by(group="service", window="2d", now=HOUR)


@pytest.mark.django_db
def test_prune_deletes_raw_results_past_retention_and_keeps_rollups(service, settings):
    settings.RESULT_RETENTION_DAYS = 30
    check = make_check(service)
    old = HOUR - timedelta(days=31)
    record(check, old, [(Outcome.UP, 10.0)] * 25)
    record(check, HOUR, [(Outcome.UP, 10.0)] * 3)
    rollup_hour_compute(start=old)
    rollup_day_compute(start=old)
    deleted = history_prune(now=HOUR, batch=10)
    assert deleted["results"] == 25
    assert Result.objects.count() == 3
    assert Rollup.objects.filter(period="day").count() == 1
    assert history_prune(now=HOUR, batch=10)["results"] == 0


@pytest.mark.django_db
def test_the_first_hour_of_a_day_counts_in_the_daily_and_service_rollups(service):
    check = make_check(service)
    midnight = HOUR.replace(hour=0)
    record(check, midnight, [(Outcome.UP, 10.0)] * 3)
    rollup_hour_compute(start=midnight)
    rollup_day_compute(start=midnight)
    assert Rollup.objects.get(period="day").up == 3
    assert ServiceRollup.objects.get(period="day", service=service).up == 3
    assert ServiceRollup.objects.get(period="hour", service=service).start == midnight


@pytest.mark.django_db
def test_service_rollups_sum_the_checks_of_each_service(service, other_service):
    a, b = make_check(service, "a"), make_check(service, "b")
    c = make_check(other_service, "c")
    record(a, HOUR, [(Outcome.UP, 10.0)] * 2)
    record(b, HOUR, [(Outcome.DOWN, None)] * 3)
    record(c, HOUR, [(Outcome.UP, 10.0)] * 4)
    rollup_hour_compute(start=HOUR)
    rollup_hour_compute(start=HOUR)
    rows = {r.service_id: (r.up, r.down) for r in ServiceRollup.objects.filter(period="hour")}
    assert rows == {service.pk: (2, 3), other_service.pk: (4, 0)}


class SteppingClock:
    """Each reading is a second after the last: every batch of the pruner costs a second."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.django_db
def test_a_results_backlog_does_not_starve_pings_and_rollups_of_the_shared_budget(service):
    check = make_check(service)
    beat = make_check(service, "nightly", kind="heartbeat", config={})
    ancient = HOUR - timedelta(days=401)
    record(check, ancient, [(Outcome.UP, 10.0)] * 2)
    rollup_hour_compute(start=ancient)
    rollup_day_compute(start=ancient)
    record(check, HOUR - timedelta(days=31), [(Outcome.UP, 10.0)] * 98)
    Ping.objects.bulk_create(
        Ping(check_ref=beat, kind="success", received_at=HOUR - timedelta(days=31, minutes=m),
             method="GET")
        for m in range(5)
    )  # fmt: skip

    deleted = history_prune(now=HOUR, batch=10, budget_s=12, clock=SteppingClock())

    assert deleted["pings"] == 5
    assert deleted["hourly"] == 1 and deleted["daily"] == 1
    assert deleted["service_hourly"] == 1 and deleted["service_daily"] == 1
    assert 0 < deleted["results"] < 100  # the budget ended the run with a backlog left
    assert Result.objects.count() == 100 - deleted["results"]
    assert not Rollup.objects.exists() and not ServiceRollup.objects.exists()


@pytest.mark.django_db
def test_the_next_run_goes_on_with_what_the_budget_left(service):
    check = make_check(service)
    record(check, HOUR - timedelta(days=31), [(Outcome.UP, 10.0)] * 30)

    first = history_prune(now=HOUR, batch=10, budget_s=3, clock=SteppingClock())
    second = history_prune(now=HOUR, batch=10, budget_s=100, clock=SteppingClock())

    assert first["results"] == 10
    assert second["results"] == 20
    assert not Result.objects.exists()


def test_the_prune_budget_ends_before_the_task_soft_limit():
    from checks.tasks import PRUNE_BUDGET_S, prune_results

    assert PRUNE_BUDGET_S < prune_results.soft_time_limit < prune_results.time_limit


@pytest.mark.django_db
def test_recomputing_an_unchanged_hour_writes_no_row_again(service):
    check = make_check(service)
    record(check, HOUR, [(Outcome.UP, 40.0)] * 3 + [(Outcome.DOWN, None)] * 2)
    assert rollup_hour_compute(start=HOUR) == 1
    assert rollup_hour_compute(start=HOUR) == 0
    rollup = Rollup.objects.get(period="hour")
    assert (rollup.up, rollup.down, rollup.latency_count) == (3, 2, 3)
    # Results without a latency are in no latency bucket.
    assert sum(rollup.histogram) == rollup.latency_count == rollup.histogram[bucket_of(40)]

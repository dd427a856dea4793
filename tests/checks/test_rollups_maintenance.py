from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from checks.maintenance import maintenance_windows_sync, rollups_recompute_queue
from checks.models import MaintenanceWindow, Outcome, Rollup
from checks.rollups import day_start, rollup_day_compute, rollup_hour_compute
from checks.selectors import availability_by
from checks.services import Observation, results_record
from checks.tasks import rollups_recompute
from statuspage.celery import app
from tests.checks.factories import make_check

pytestmark = pytest.mark.django_db
HOUR = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
NOW = HOUR + timedelta(hours=3)


@pytest.fixture
def eager_tasks():
    """Tasks queued on commit run in this process, as a worker would run them."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def record(check, start: datetime, outcomes: list[int], step: int = 60) -> None:
    base = int(start.timestamp())
    results_record(
        observations=[
            Observation(check.pk, base + i * step, base + i * step + 0.1, outcome, 50.0)
            for i, outcome in enumerate(outcomes)
        ]
    )


def rollup(check, hour: datetime = HOUR) -> Rollup:
    return Rollup.objects.get(check_ref=check, period="hour", start=hour)


def recompute(*hours: datetime) -> None:
    for hour in hours or (HOUR,):
        rollup_hour_compute(start=hour)
    rollup_day_compute(start=HOUR)


def sync(service, starts_at, ends_at, *, source_id=1, now=NOW):
    return maintenance_windows_sync(
        source_id=source_id,
        service_ids=[service.pk],
        starts_at=starts_at,
        ends_at=ends_at,
        now=now,
    )


def test_failures_inside_a_window_do_not_count_against_uptime(service):
    check = make_check(service)
    # 10:00-10:29 up, 10:30-10:44 down (the window), 10:45-10:59 up.
    record(check, HOUR, [Outcome.UP] * 30 + [Outcome.DOWN] * 15 + [Outcome.UP] * 15)
    sync(service, HOUR + timedelta(minutes=30), HOUR + timedelta(minutes=45))
    recompute()
    row = rollup(check)
    assert (row.up, row.degraded, row.down, row.maintenance) == (45, 0, 0, 15)
    assert row.latency_count == 60  # latency is still measured
    uptime = availability_by(group="service", window="24h", now=NOW)[service.pk]
    assert uptime.uptime_pct == 100.0
    assert availability_by(group="service", window="90d", now=NOW)[service.pk].uptime_pct == 100.0


def test_failures_outside_the_window_still_count(service):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 10 + [Outcome.UP] * 40 + [Outcome.DOWN] * 10)
    sync(service, HOUR + timedelta(minutes=10), HOUR + timedelta(minutes=50))
    recompute()
    row = rollup(check)
    assert (row.up, row.down, row.maintenance) == (0, 20, 40)
    uptime = availability_by(group="service", window="24h", now=NOW)[service.pk]
    assert uptime.uptime_pct == 0.0


def test_the_window_covers_only_its_own_service(service, other_service):
    check = make_check(service)
    other = make_check(other_service)
    record(check, HOUR, [Outcome.DOWN] * 10)
    record(other, HOUR, [Outcome.DOWN] * 10)
    sync(service, HOUR, HOUR + timedelta(hours=1))
    recompute()
    assert (rollup(check).down, rollup(check).maintenance) == (0, 10)
    assert (rollup(other).down, rollup(other).maintenance) == (10, 0)


def test_an_open_window_covers_everything_after_its_start(service):
    check = make_check(service)
    record(check, HOUR, [Outcome.UP] * 20 + [Outcome.DOWN] * 40)
    sync(service, HOUR + timedelta(minutes=20), None)
    recompute()
    assert (rollup(check).up, rollup(check).maintenance) == (20, 40)


def test_overlapping_windows_count_a_result_once(service):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 60)
    sync(service, HOUR, HOUR + timedelta(minutes=40), source_id=1)
    sync(service, HOUR + timedelta(minutes=20), HOUR + timedelta(hours=2), source_id=2)
    recompute()
    assert (rollup(check).down, rollup(check).maintenance) == (0, 60)


def test_the_window_bounds_are_start_inclusive_and_end_exclusive(service):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 3, step=600)  # 10:00:00.1, 10:10:00.1, 10:20:00.1
    sync(
        service,
        HOUR + timedelta(minutes=10, seconds=0.1),
        HOUR + timedelta(minutes=20, seconds=0.1),
    )
    recompute()
    assert (rollup(check).down, rollup(check).maintenance) == (2, 1)


def test_a_window_recorded_after_the_fact_rolls_its_past_hours_up_again(
    service, eager_tasks, django_capture_on_commit_callbacks
):
    check = make_check(service)
    second = HOUR + timedelta(hours=1)
    record(check, HOUR, [Outcome.DOWN] * 120)
    recompute(HOUR, second)
    assert rollup(check).down == 60
    with django_capture_on_commit_callbacks(execute=True):
        result = sync(service, HOUR + timedelta(minutes=30), second + timedelta(minutes=30))
    assert (result.created, result.hours_queued) == (1, 2)
    assert (rollup(check).down, rollup(check).maintenance) == (30, 30)
    assert (rollup(check, second).down, rollup(check, second).maintenance) == (30, 30)
    day = Rollup.objects.get(check_ref=check, period="day")
    assert (day.down, day.maintenance) == (60, 60)


def test_closing_a_window_and_removing_it_count_the_results_again(
    service, eager_tasks, django_capture_on_commit_callbacks
):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 60)
    sync(service, HOUR, None)
    recompute()
    assert rollup(check).maintenance == 60
    with django_capture_on_commit_callbacks(execute=True):
        result = sync(service, HOUR, HOUR + timedelta(minutes=15))
    assert (result.updated, result.hours_queued) == (1, 3)  # 10:15 until now
    assert (rollup(check).down, rollup(check).maintenance) == (45, 15)
    with django_capture_on_commit_callbacks(execute=True):
        result = maintenance_windows_sync(
            source_id=1, service_ids=[], starts_at=None, ends_at=None, now=NOW
        )
    assert result.deleted == 1
    assert (rollup(check).down, rollup(check).maintenance) == (60, 0)
    assert not MaintenanceWindow.objects.exists()


def test_syncing_the_same_window_again_changes_nothing(service, other_service):
    first = maintenance_windows_sync(
        source_id=7,
        service_ids=[service.pk, other_service.pk],
        starts_at=HOUR,
        ends_at=HOUR + timedelta(hours=1),
        now=NOW,
    )
    again = maintenance_windows_sync(
        source_id=7,
        service_ids=[other_service.pk, service.pk],
        starts_at=HOUR,
        ends_at=HOUR + timedelta(hours=1),
        now=NOW,
    )
    assert (first.created, first.hours_queued) == (2, 1)
    assert (again.created, again.updated, again.deleted, again.hours_queued) == (0, 0, 0, 0)


def test_future_hours_are_left_to_the_periodic_rollup(service):
    result = sync(service, NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    assert (result.created, result.hours_queued) == (1, 0)


def test_windows_in_another_time_zone_recompute_whole_utc_hours(
    service, eager_tasks, django_capture_on_commit_callbacks
):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 60)
    recompute()
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30
    with django_capture_on_commit_callbacks(execute=True):
        sync(service, (HOUR + timedelta(minutes=45)).astimezone(kolkata), None)
    assert (rollup(check).down, rollup(check).maintenance) == (45, 15)
    assert not Rollup.objects.filter(period="hour", start__minute=30).exists()


def test_an_empty_range_removes_the_window(service):
    sync(service, HOUR, HOUR + timedelta(hours=1))
    result = sync(service, HOUR, HOUR)
    assert result.deleted == 1 and not MaintenanceWindow.objects.exists()


def test_the_recomputation_waits_for_the_commit_and_leaves_the_request(
    service, django_capture_on_commit_callbacks
):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 60)
    recompute()

    with django_capture_on_commit_callbacks() as callbacks:
        result = sync(service, HOUR, HOUR + timedelta(minutes=30))
        assert (rollup(check).down, rollup(check).maintenance) == (60, 0)

    assert result.hours_queued == 1
    assert len(callbacks) == 1


def test_a_month_of_hours_is_queued_as_one_short_task_per_day(service, eager_tasks, caplog):
    caplog.set_level("INFO", logger="checks.tasks")
    check = make_check(service)
    record(check, HOUR - timedelta(days=29), [Outcome.DOWN] * 60)
    hours = [NOW - timedelta(hours=h) for h in range(1, 24 * 30 + 1)]

    queued = rollups_recompute_queue(hours=[hour.replace(minute=0) for hour in hours])

    lines = [r.getMessage() for r in caplog.records if "task=checks.rollups_recompute" in r.message]
    assert queued == len(lines) == len({day_start(hour) for hour in hours})
    assert all("hours=" in line for line in lines)
    assert sum(int(line.split("hours=")[1].split()[0]) for line in lines) == 24 * 30
    assert rollup(check, HOUR - timedelta(days=29)).down == 60


def test_the_recompute_task_run_twice_writes_the_same_rollups(service):
    check = make_check(service)
    record(check, HOUR, [Outcome.DOWN] * 60)
    sync(service, HOUR, HOUR + timedelta(minutes=30))

    rollups_recompute([int(HOUR.timestamp())])
    first = (rollup(check).down, rollup(check).maintenance)
    rollups_recompute([int(HOUR.timestamp())])

    assert first == (rollup(check).down, rollup(check).maintenance) == (30, 30)


def test_the_recompute_task_with_no_rows_in_its_hours_writes_nothing():
    assert rollups_recompute([int(HOUR.timestamp())]) == 0

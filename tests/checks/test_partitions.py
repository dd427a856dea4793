"""Day partitions of results on PostgreSQL: created ahead, filled, compacted and dropped."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from checks.models import Outcome, Result
from checks.partitions import (
    DEFAULT,
    day_slot,
    partition_of,
    partitions_compact,
    partitions_ensure,
    partitions_list,
)
from checks.rollups import history_prune, rollup_hour_compute
from checks.services import Observation, results_record
from checks.tasks import partitions_maintain
from tests.checks.factories import make_check

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Far from the day the test database was made, so the migration made none of these.
FUTURE = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)


def record(check, slots: list[int]) -> None:
    results_record(
        observations=[Observation(check.pk, s, s + 0.2, Outcome.UP, 12.0) for s in slots]
    )


def where_rows_are() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, count(*) FROM checks_result GROUP BY 1")
        return dict(cursor.fetchall())


def test_the_task_creates_the_partitions_ahead_and_a_second_run_creates_none(settings):
    settings.RESULT_PARTITIONS_AHEAD_DAYS = 3
    with time_machine.travel(FUTURE, tick=False):
        assert partitions_maintain() == 4
        assert partitions_maintain() == 0
    wanted = [FUTURE.date() + timedelta(days=n) for n in range(4)]
    assert set(wanted) <= {p.day for p in partitions_list()}


def test_results_land_in_the_partition_of_their_slot_day(service):
    check = make_check(service)
    partitions_ensure(now=FUTURE, ahead_days=1)
    today, tomorrow = day_slot(FUTURE.date()), day_slot(FUTURE.date() + timedelta(days=1))
    record(check, [today + 60, today + 86340, tomorrow])
    assert where_rows_are() == {
        partition_of(FUTURE.date()).name: 2,
        partition_of(FUTURE.date() + timedelta(days=1)).name: 1,
    }


def test_a_slot_without_a_partition_is_stored_and_moves_when_its_day_is_created(service):
    check = make_check(service)
    far = FUTURE + timedelta(days=400)
    slot = int(far.timestamp())
    record(check, [slot, slot + 60])
    assert where_rows_are() == {DEFAULT: 2}
    record(check, [slot])  # the default partition keeps the key unique too
    assert Result.objects.filter(check_ref=check).count() == 2

    created = partitions_ensure(now=far, ahead_days=0)

    assert created == [partition_of(far.date()).name]
    assert where_rows_are() == {partition_of(far.date()).name: 2}


def test_retention_drops_whole_old_days_and_keeps_the_current_one(service, settings):
    settings.RESULT_RETENTION_DAYS = 2
    check = make_check(service)
    first = FUTURE - timedelta(days=4)
    partitions_ensure(now=first, ahead_days=4)
    now = FUTURE.replace(hour=0, minute=30)
    day = 86400
    slots = [day_slot(first.date()) + n * day + 600 for n in range(5)]  # one a day
    record(check, slots)

    before = {p.day for p in partitions_list()}

    deleted = history_prune(now=now)

    # Cutoff: two days before 00:30 of the last day. The two days that ended before it
    # go whole (and the days the migration made, years earlier); the day holding the
    # cutoff stays until it has passed entirely.
    left = {p.day for p in partitions_list()}
    gone = before - left
    assert {first.date(), first.date() + timedelta(days=1)} <= gone
    assert all(day < first.date() + timedelta(days=2) for day in gone)
    assert deleted["result_partitions"] == len(gone) and deleted["results"] == 0
    assert sorted(Result.objects.values_list("slot", flat=True)) == slots[2:]
    assert FUTURE.date() in left
    assert history_prune(now=now)["result_partitions"] == 0


def test_retention_never_drops_the_partition_of_today(service, settings):
    settings.RESULT_RETENTION_DAYS = 0
    check = make_check(service)
    partitions_ensure(now=FUTURE, ahead_days=0)
    record(check, [int(FUTURE.timestamp()) - 60])

    history_prune(now=FUTURE)

    assert FUTURE.date() in {p.day for p in partitions_list()}
    assert Result.objects.count() == 1


def test_old_rows_in_the_default_partition_are_deleted_in_batches(service, settings):
    settings.RESULT_RETENTION_DAYS = 30
    check = make_check(service)
    old = int((FUTURE - timedelta(days=900)).timestamp())
    record(check, [old + 60 * n for n in range(25)])
    assert where_rows_are() == {DEFAULT: 25}

    deleted = history_prune(now=FUTURE, batch=10)

    assert deleted["results"] == 25 and not Result.objects.exists()


def test_hourly_rollups_read_results_across_partitions(service):
    check = make_check(service)
    partitions_ensure(now=FUTURE, ahead_days=1)
    midnight = day_slot(FUTURE.date() + timedelta(days=1))
    # The hour before midnight, one result on each side of the partition boundary.
    record(check, [midnight - 120, midnight - 60])
    rollups = rollup_hour_compute(start=datetime.fromtimestamp(midnight - 3600, UTC))
    assert rollups == 1


def test_closed_days_are_compacted_once_and_stay_readable(service):
    check = make_check(service)
    partitions_ensure(now=FUTURE, ahead_days=3)
    start = day_slot(FUTURE.date())
    record(check, [start + 60 * n for n in range(50)])
    later = FUTURE + timedelta(days=2)  # days 0 and 1 are over, day 2 is today

    first = partitions_compact(now=later, limit=100)
    second = partitions_compact(now=later, limit=100)

    assert partition_of(FUTURE.date()).name in first
    assert partition_of(FUTURE.date() + timedelta(days=1)).name in first
    assert partition_of(FUTURE.date() + timedelta(days=2)).name not in first  # still open
    assert second == []
    assert Result.objects.filter(check_ref=check, slot__gte=start).count() == 50

"""Gaps: stale batches and slots that never ran are recorded as SKIPPED, never as data."""

import logging
import time
from datetime import UTC, datetime

import pytest

from checks.gaps import gap_horizon, gaps_record
from checks.models import Check, Outcome, Result, Rollup, State, Transition
from checks.rollups import rollup_hour_compute
from checks.runner import probe_batch_run
from checks.scheduling import Claim, slot_at_or_before
from checks.services import Observation, results_record
from checks.tasks import record_gaps
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worlds import health_app, task_lines

HOUR = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def target_port():
    with serving_app(health_app()) as port:
        yield port


def created_before(check: Check, seconds: float, now: float) -> None:
    Check.objects.filter(pk=check.pk).update(
        created_at=datetime.fromtimestamp(now - seconds, tz=UTC)
    )


@pytest.mark.django_db
def test_batch_arriving_after_its_slots_are_stale_records_them_as_skipped(
    service, target_port, settings
):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    now = time.time()
    old_slot = int(now) - 3600
    report = probe_batch_run(claims=[Claim(check.pk, old_slot)], now=now)
    assert (report.probed, report.skipped, report.recorded.inserted) == (0, 1, 1)
    result = Result.objects.get(check_ref=check)
    assert result.outcome == Outcome.SKIPPED
    assert result.slot == old_slot
    assert result.checked_at.timestamp() == old_slot  # dated at its slot, not at "now"
    assert result.latency_ms is None
    check.refresh_from_db()
    assert check.state == State.UNKNOWN  # a gap moves no state
    assert check.last_outcome is None
    assert Transition.objects.count() == 0


@pytest.mark.django_db
def test_batch_within_the_lateness_is_measured(service, target_port, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(service, config={"url": f"http://127.0.0.1:{target_port}/health"})
    now = time.time()
    report = probe_batch_run(claims=[Claim(check.pk, int(now) - 100)], now=now)
    assert (report.probed, report.skipped) == (1, 0)
    assert Result.objects.get(check_ref=check).outcome == Outcome.UP


@pytest.mark.django_db
def test_a_gap_stays_a_gap_when_the_late_batch_is_delivered_again(service, settings):
    check = make_check(service)
    now = time.time()
    slot = int(now) - 3600
    probe_batch_run(claims=[Claim(check.pk, slot)], now=now)
    again = probe_batch_run(claims=[Claim(check.pk, slot)], now=now + 60)
    assert again.recorded.inserted == 0
    assert list(Result.objects.values_list("outcome", flat=True)) == [Outcome.SKIPPED]


@pytest.mark.django_db
def test_sweep_records_every_slot_that_never_ran(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    now = 1_800_000_000.0
    check = make_check(service, interval_s=60)
    created_before(check, 3600, now)
    summary = gaps_record(now=now)
    horizon = gap_horizon(now)
    expected = [
        s
        for s in range(int(now) - 3600 - 60, int(horizon) + 1)
        if s > now - 3600 and s == slot_at_or_before(check_id=check.pk, interval_s=60, t=s)
    ]
    slots = sorted(Result.objects.filter(check_ref=check).values_list("slot", flat=True))
    assert summary.gaps == len(expected) == len(slots)
    assert slots == expected
    assert set(Result.objects.values_list("outcome", flat=True)) == {Outcome.SKIPPED}
    check.refresh_from_db()
    assert check.gaps_swept_to == expected[-1]
    assert check.state == State.UNKNOWN


@pytest.mark.django_db
def test_sweep_keeps_measured_slots_and_runs_twice_safely(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    now = 1_800_000_000.0
    check = make_check(service, interval_s=60)
    created_before(check, 600, now)
    measured = slot_at_or_before(check_id=check.pk, interval_s=60, t=now - 400)
    results_record(observations=[Observation(check.pk, measured, measured + 1, Outcome.UP, 20.0)])
    first = gaps_record(now=now)
    assert gaps_record(now=now).gaps == 0
    assert Result.objects.get(slot=measured).outcome == Outcome.UP
    assert Result.objects.filter(outcome=Outcome.SKIPPED).count() == first.gaps > 0
    # The next run only looks at slots after the previous horizon.
    later = gaps_record(now=now + 60)
    assert later.gaps == 1


@pytest.mark.django_db
def test_sweep_records_no_gaps_for_a_paused_check(service, settings):
    now = 1_800_000_000.0
    check = make_check(service, interval_s=60, is_paused=True)
    created_before(check, 3600, now)
    assert gaps_record(now=now).gaps == 0
    check.refresh_from_db()
    assert check.gaps_swept_to is not None  # resuming later does not fill the pause
    Check.objects.filter(pk=check.pk).update(is_paused=False)
    assert gaps_record(now=now + 60).gaps == 1


@pytest.mark.django_db
def test_skipped_slots_are_not_counted_in_rollups(service):
    check = make_check(service)
    base = int(HOUR.timestamp())
    results_record(
        observations=[
            Observation(check.pk, base, base + 0.1, Outcome.UP, 30.0),
            Observation(check.pk, base + 60, base + 60, Outcome.SKIPPED),
            Observation(check.pk, base + 120, base + 120, Outcome.SKIPPED),
        ]
    )
    rollup_hour_compute(start=HOUR)
    rollup = Rollup.objects.get(period="hour")
    assert (rollup.up, rollup.degraded, rollup.down, rollup.maintenance) == (1, 0, 0, 0)


@pytest.mark.django_db
def test_record_gaps_task_logs_one_line_and_is_safe_twice(service, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    check = make_check(service, interval_s=60)
    created_before(check, 1800, time.time())
    first = record_gaps()
    assert first > 0
    assert record_gaps() == 0
    lines = task_lines(caplog, "checks.record_gaps")
    assert f"gaps={first}" in lines[0]
    assert "gaps=0" in lines[1]


@pytest.mark.django_db
def test_record_gaps_task_with_no_checks(caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    assert record_gaps() == 0
    assert "checks=0 gaps=0" in task_lines(caplog, "checks.record_gaps")[0]


def test_gap_horizon_leaves_time_for_a_batch_that_started_in_time(settings):
    settings.PROBE_MAX_LATENESS_S = 120
    assert gap_horizon(1000.0) == 1000.0 - 240

"""The gap sweep finds the unmeasured slots set-based: only they are written, every check's
mark lands on its own slot grid, whatever its interval and offset."""

from datetime import UTC, datetime

import pytest

from checks.gaps import MAX_LOOKBACK_S, gap_horizon, gaps_record
from checks.models import Check, Kind, Outcome, Result
from checks.scheduling import slot_after, slot_at_or_before
from checks.services import Observation, results_record
from tests.checks.factories import make_check

NOW = 1_800_000_000.0


def created_before(check: Check, seconds: float) -> None:
    Check.objects.filter(pk=check.pk).update(
        created_at=datetime.fromtimestamp(NOW - seconds, tz=UTC)
    )


def grid(check: Check, after: float, until: float) -> list[int]:
    """The check's slots strictly after ``after`` and at or before ``until``."""
    first = slot_after(check_id=check.pk, interval_s=check.interval_s, t=after)
    return list(range(first, int(until) + 1, check.interval_s))


def stored(check: Check) -> dict[int, int]:
    return dict(Result.objects.filter(check_ref=check).values_list("slot", "outcome"))


@pytest.mark.django_db
def test_sweep_writes_only_the_slots_between_measured_ones(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(service, interval_s=60)
    created_before(check, 1200)
    expected = grid(check, NOW - 1200, gap_horizon(NOW))
    measured = expected[::3]
    results_record(
        observations=[Observation(check.pk, s, s + 0.5, Outcome.UP, 12.0) for s in measured]
    )
    summary = gaps_record(now=NOW)
    assert summary.gaps == len(expected) - len(measured)
    outcomes = stored(check)
    assert sorted(outcomes) == expected
    assert {s for s, o in outcomes.items() if o == Outcome.UP} == set(measured)
    assert {s for s, o in outcomes.items() if o == Outcome.SKIPPED} == set(expected) - set(measured)


@pytest.mark.django_db
def test_every_check_sweeps_its_own_grid_and_marks_its_own_last_slot(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    intervals = [20, 30, 45, 60, 90, 120, 300, 600, 3600, 77]
    checks = [
        make_check(service, name=f"c{i}", interval_s=interval)
        for i, interval in enumerate(intervals)
    ]
    for n, check in enumerate(checks):
        # Creation times that fall on a slot, just after one and in between.
        created_before(check, 1800 + n * 7.25)
    until = gap_horizon(NOW)
    summary = gaps_record(now=NOW)
    total = 0
    for n, check in enumerate(checks):
        expected = grid(check, NOW - 1800 - n * 7.25, until)
        total += len(expected)
        assert sorted(stored(check)) == expected, check.interval_s
        check.refresh_from_db()
        assert check.gaps_swept_to == slot_at_or_before(
            check_id=check.pk, interval_s=check.interval_s, t=until
        )
    assert (summary.checks, summary.gaps) == (len(checks), total)


@pytest.mark.django_db
def test_a_check_never_swept_is_swept_no_further_back_than_the_lookback(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(service, interval_s=600)
    created_before(check, 3 * MAX_LOOKBACK_S)
    gaps_record(now=NOW)
    assert sorted(stored(check)) == grid(check, NOW - MAX_LOOKBACK_S, gap_horizon(NOW))


@pytest.mark.django_db
def test_checks_of_a_paused_service_and_disabled_checks_only_move_their_marks(
    service, other_service, settings
):
    settings.PROBE_MAX_LATENESS_S = 120
    other_service.is_paused = True
    other_service.save()
    quiet = [
        make_check(other_service, name="service-paused"),
        make_check(service, name="disabled", is_enabled=False),
    ]
    running = make_check(service, name="running")
    heartbeat = make_check(service, name="cron", kind=Kind.HEARTBEAT, config={})
    for check in [*quiet, running, heartbeat]:
        created_before(check, 600)
    summary = gaps_record(now=NOW)
    assert summary.checks == 3  # heartbeats are not probed, so not swept
    assert summary.gaps == len(grid(running, NOW - 600, gap_horizon(NOW))) > 0
    assert set(Result.objects.values_list("check_ref_id", flat=True)) == {running.pk}
    for check in quiet:
        check.refresh_from_db()
        assert check.gaps_swept_to == slot_at_or_before(
            check_id=check.pk, interval_s=60, t=gap_horizon(NOW)
        )
    heartbeat.refresh_from_db()
    assert heartbeat.gaps_swept_to is None


@pytest.mark.django_db
def test_a_sweep_that_stopped_before_moving_the_marks_finds_the_slots_filled(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(service, interval_s=60)
    created_before(check, 900)
    first = gaps_record(now=NOW)
    # As if the marks had not moved: the same slots are looked at again, none is written.
    Check.objects.filter(pk=check.pk).update(gaps_swept_to=None)
    assert gaps_record(now=NOW).gaps == 0
    assert len(stored(check)) == first.gaps > 0

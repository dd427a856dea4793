"""A stack stopped for longer than an interval: on restart the missed stretch is not probed,
it is recorded as a gap, states and uptime stay as they were, and the next slot runs on time."""

import logging
from datetime import UTC, datetime

import pytest

from checks.gaps import gap_horizon, gaps_record, missed_slots_skip
from checks.models import Check, Kind, Outcome, Result, Rollup, State, Transition
from checks.rollups import hour_start, rollups_recompute
from checks.runner import probe_batch_run
from checks.scheduling import as_datetime, checks_claim_due, slot_after, slot_at_or_before
from checks.tasks import dispatch_due
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app
from tests.checks.worlds import health_app, task_lines

T0 = 1_796_000_000
STOP_S = 600


@pytest.fixture
def target_port():
    with serving_app(health_app()) as port:
        yield port


def due_at(check: Check, t: float) -> None:
    Check.objects.filter(pk=check.pk).update(next_due_at=as_datetime(t))


def next_due(check: Check) -> float:
    check.refresh_from_db()
    return check.next_due_at.timestamp()


def run_due(now: float, time_machine) -> list[int]:
    """What a dispatch tick does at ``now``, then the probes of what it claimed; returns
    the claimed slots."""
    time_machine.move_to(datetime.fromtimestamp(now, tz=UTC), tick=True)
    missed_slots_skip(now=now)
    claims = checks_claim_due(now=now)
    if claims:
        probe_batch_run(claims=claims, now=now)
    return [c.slot for c in claims]


@pytest.mark.django_db
def test_after_a_stop_longer_than_the_interval_no_missed_slot_is_probed(
    service, caplog, django_capture_on_commit_callbacks, time_machine
):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    check = make_check(service, interval_s=60)
    first = slot_after(check_id=check.pk, interval_s=60, t=T0)
    due_at(check, first + 60)  # the slot after ``first`` was claimed, then the stack stopped
    back = first + STOP_S + 17.5
    time_machine.move_to(datetime.fromtimestamp(back, tz=UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due() == 0
    assert "claimed=0 batches=0 resumed=1" in task_lines(caplog, "checks.dispatch_due")[0]
    # It waits for its next slot, which comes within one interval of the restart.
    resume = next_due(check)
    assert resume == slot_after(check_id=check.pk, interval_s=60, t=back - 1)
    assert back < resume <= back + 60
    assert Result.objects.count() == 0


@pytest.mark.django_db
def test_a_check_late_by_less_than_its_interval_is_claimed_as_usual(service):
    check = make_check(service, interval_s=60)
    slot = slot_after(check_id=check.pk, interval_s=60, t=T0)
    due_at(check, slot)
    assert missed_slots_skip(now=slot + 45) == 0  # a slow dispatcher, not a stop
    assert next_due(check) == slot
    assert [c.slot for c in checks_claim_due(now=slot + 45)] == [slot]


@pytest.mark.django_db
def test_a_slot_only_a_tick_old_is_still_on_time(service, settings):
    settings.DISPATCH_TICK_S = 1.0
    check = make_check(service, interval_s=60)
    slot = slot_after(check_id=check.pk, interval_s=60, t=T0)
    due_at(check, slot - 600)
    assert missed_slots_skip(now=slot + 0.5) == 1
    assert next_due(check) == slot


@pytest.mark.django_db
def test_skipping_missed_slots_twice_moves_nothing_the_second_time(service, other_service):
    checks = [make_check(service, f"c{i}", interval_s=30) for i in range(3)]
    for check in checks:
        due_at(check, T0 - 3600)
    assert missed_slots_skip(now=T0) == 3
    moved = [next_due(c) for c in checks]
    assert missed_slots_skip(now=T0) == 0
    assert [next_due(c) for c in checks] == moved


@pytest.mark.django_db
def test_paused_and_heartbeat_checks_are_not_moved(service, other_service):
    paused = make_check(service, "paused", is_paused=True)
    job = make_check(service, "job", kind=Kind.HEARTBEAT, config={})
    other_service.is_paused = True
    other_service.save()
    of_paused_service = make_check(other_service, "of-a-paused-service")
    for check in (paused, of_paused_service):
        due_at(check, T0 - 3600)
    assert missed_slots_skip(now=T0) == 0
    assert next_due(paused) == next_due(of_paused_service) == T0 - 3600
    job.refresh_from_db()
    assert job.next_due_at is None


@pytest.mark.django_db
def test_the_stop_is_a_gap_and_leaves_state_and_uptime_alone(
    service, target_port, settings, time_machine
):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(
        service, interval_s=60, config={"url": f"http://127.0.0.1:{target_port}/health"}
    )
    first = slot_after(check_id=check.pk, interval_s=60, t=T0)
    Check.objects.filter(pk=check.pk).update(
        created_at=as_datetime(first - 1), next_due_at=as_datetime(first)
    )
    # Two slots measured before the stop: the check is up.
    assert run_due(first + 0.2, time_machine) == [first]
    assert run_due(first + 60.2, time_machine) == [first + 60]
    check.refresh_from_db()
    assert check.state == State.UP
    transitions = Transition.objects.count()
    stopped = first + 60.5

    back = stopped + STOP_S + 17
    assert run_due(back, time_machine) == []  # the restart's first tick probes nothing
    resume = next_due(check)
    gaps = gaps_record(now=back + 2 * settings.PROBE_MAX_LATENESS_S + 1).gaps
    assert run_due(resume + 0.2, time_machine) == [resume]  # the next slot runs on time

    missed = list(range(first + 120, int(back), 60))
    assert gaps == len(missed)
    skipped = Result.objects.filter(check_ref=check, outcome=Outcome.SKIPPED)
    assert sorted(skipped.values_list("slot", flat=True)) == missed
    real = Result.objects.filter(check_ref=check).exclude(outcome=Outcome.SKIPPED)
    assert sorted(real.values_list("slot", flat=True)) == [first, first + 60, resume]
    assert all(r.checked_at.timestamp() - r.slot < 1 for r in real)
    check.refresh_from_db()
    assert check.state == State.UP
    assert Transition.objects.count() == transitions  # nothing went down, nothing recovered
    # Uptime counts the three measured slots only: the stop is neither up nor down.
    rollups_recompute(hours=[hour_start(as_datetime(first)), hour_start(as_datetime(resume))])
    hours = Rollup.objects.filter(check_ref=check, period=Rollup.Period.HOUR)
    assert sum(r.up for r in hours) == 3
    assert sum(r.down + r.degraded + r.maintenance for r in hours) == 0


@pytest.mark.django_db
def test_the_gap_sweep_reaches_the_stop_only_once_no_batch_can_record_it(service, settings):
    settings.PROBE_MAX_LATENESS_S = 120
    check = make_check(service, interval_s=60)
    first = slot_after(check_id=check.pk, interval_s=60, t=T0)
    Check.objects.filter(pk=check.pk).update(gaps_swept_to=first)
    back = first + STOP_S
    gaps_record(now=back)
    recorded = set(Result.objects.values_list("slot", flat=True))
    horizon = gap_horizon(back)
    assert recorded == {
        s for s in range(first + 60, int(back), 60) if s <= horizon
    }  # slots newer than the horizon wait: a late batch may still measure them
    assert recorded and max(recorded) == slot_at_or_before(
        check_id=check.pk, interval_s=60, t=horizon
    )
    assert first + 60 in recorded
